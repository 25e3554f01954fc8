"""The memory format a model trains and predicts in (``channels_last``, sartail.models.channels_last_for)."""
import pytest
import torch

from sartail.config import ModelConfig, load_config
from sartail.data.chipset import ChipSet
from sartail.errors import ConfigError
from sartail.models import build_model, channels_last_for
from sartail.train.loop import Context, fit_stage

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def test_auto_avoids_channels_last_only_for_narrow_batchnorm_on_several_cpu_threads(threads):
    narrow, wide = build_model(ModelConfig(width=8), 10), build_model(ModelConfig(width=16), 10)
    threads(2)
    assert channels_last_for(narrow, CPU) is False  # 8-channel BatchNorm layers
    assert channels_last_for(wide, CPU) is True
    assert channels_last_for(narrow, CUDA) is True  # the rule is the CPU's
    threads(1)
    assert channels_last_for(narrow, CPU) is True
    for setting in (True, False):  # an explicit setting is kept whatever the model and threads
        threads(2)
        assert channels_last_for(narrow, CPU, setting) is setting
        assert channels_last_for(wide, CUDA, setting) is setting
    assert channels_last_for(torch.nn.Linear(3, 2), CPU) is True  # no BatchNorm: nothing to avoid


def test_the_loop_trains_in_the_format_it_chose_and_an_explicit_setting_wins(threads):
    g = torch.Generator().manual_seed(0)
    chips = ChipSet.from_tensors(torch.randint(0, 256, (40, 1, 16, 16), generator=g, dtype=torch.uint8),
                                 torch.arange(40) % 2, "ab")
    stage = load_config("ce", {"stages.rough.epochs": 1}).stage("rough")
    threads(2)
    for setting, want in (("auto", False), (True, True)):
        model = build_model(ModelConfig(width=8), 2)
        fit_stage(model, stage, chips, None, Context(batch_size=16, progress=False, channels_last=setting))
        w = model.body.layers[0][0].weight  # 8 -> 8 channels (the stem's one input channel is both layouts)
        assert w.is_contiguous(memory_format=torch.channels_last) is want and w.is_contiguous() is not want


def test_a_bad_setting_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="channels_last must be true, false or auto, got 'yes'"):
        load_config("ce", {"channels_last": "yes"})
