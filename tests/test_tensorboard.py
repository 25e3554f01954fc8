"""TensorBoard logs: a tiny three-stage run with the logger (:mod:`sartail.train.tensorboard`), its
test results written after scoring (:mod:`sartail.report.run_logs`), and everything read
back with TensorBoard's own reader (``EventAccumulator``)."""
from __future__ import annotations

import json
import sys

import pytest
from tiny_runs import TINY

from sartail import Run, load_config
from sartail.errors import ConfigError
from sartail.eval.results import RunResults

pytest.importorskip("tensorboard", reason="tensorboard is in the tensorboard and dev extras")
from sartail.report import run_logs as tb_report
from sartail.train import tensorboard as tb

STAGES = ["rough", "residual", "balanced", "classifier"]


def _events(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return ea


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """A three-stage run (rough 2 epochs, the others 1) logged while training and after testing."""
    path = tmp_path_factory.mktemp("tb") / "run"
    cfg = load_config("three_stage", {**TINY, "stages.rough.epochs": 2})
    logger = tb.TensorBoardLogger(tb.log_dir(path))
    run = Run.create(cfg, path, callbacks=[logger], progress=False)
    with logger:
        run.fit()
    results = run.test()
    tb_report.write_test_results(tb.log_dir(path), results, hparams=cfg.to_dict())
    return path, cfg, results, _events(tb.log_dir(path))


def test_epoch_scalars_of_every_stage_match_the_metrics(logged_run):
    path, _, _, ea = logged_run
    tags = set(ea.Tags()["scalars"])
    records = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if "train_loss" in r]
    assert [(r["stage"], r["epoch"]) for r in epochs] == [("rough", 1), ("rough", 2), ("residual", 1),
                                                         ("balanced", 1), ("classifier", 1)]
    for stage in STAGES:
        mine = [r for r in epochs if r["stage"] == stage]
        for key in ("train_loss", "lr", "val_top1", "val_balanced"):
            assert f"{stage}/{key}" in tags
            events = ea.Scalars(f"{stage}/{key}")
            assert [e.step for e in events] == [r["epoch"] for r in mine]
            assert [e.value for e in events] == pytest.approx([r[key] for r in mine], rel=1e-6)
    # the cosine schedule of the rough stage: its lr falls from epoch 1 to 2
    lr = [e.value for e in ea.Scalars("rough/lr")]
    assert lr[0] > lr[1] >= 0
    assert 0 <= min(e.value for e in ea.Scalars("classifier/val_balanced")) <= 1
    texts = set(ea.Tags()["tensors"])
    assert {f"{stage}/stage/text_summary" for stage in STAGES} <= texts  # what each stage trained on
    (first,) = ea.Tensors("residual/stage/text_summary")
    assert "1 epochs" in first.tensor_proto.string_val[0].decode() and "9 classes" in first.tensor_proto.string_val[0].decode()


def test_the_tau_of_a_post_hoc_stage(tmp_path):
    cfg = load_config("tau_norm", {**TINY, "stages.tau_norm.epochs": 0})  # post hoc, as in the recipe
    with tb.TensorBoardLogger(tb.log_dir(tmp_path / "run")) as logger:
        results = Run.create(cfg, tmp_path / "run", callbacks=[logger], progress=False).fit()
    (event,) = _events(tb.log_dir(tmp_path / "run")).Scalars("tau_norm/tau")
    assert event.value == pytest.approx(results["tau_norm"].tau) and event.step == 0  # a stage of 0 epochs


def test_a_run_whose_config_asks_for_tensorboard_logs_its_epochs_without_the_cli(tmp_path):
    """``tensorboard: true`` works wherever a Run trains (a notebook's ``run.fit()`` too), with one logger."""
    cfg = load_config("ce", {**TINY, "stages.rough.epochs": 2, "tensorboard": True})
    run = Run.create(cfg, tmp_path / "run", progress=False)
    run.fit()
    logger = run.tensorboard_logger()
    assert logger is not None and logger.seen == {"rough"}
    logger.close()
    events = _events(tb.log_dir(tmp_path / "run")).Scalars("rough/train_loss")
    assert [e.step for e in events] == [1, 2]  # once per epoch: the run's own logger, not a second one
    assert Run.create(load_config("ce", TINY), tmp_path / "plain", progress=False).tensorboard_logger() is None


def test_test_results_per_stage_and_class(logged_run):
    _, _, results, ea = logged_run
    classes = results.class_names
    for key in ("top1", "balanced"):
        events = ea.Scalars(f"test/{key}")
        assert [e.step for e in events] == [1, 2, 3, 4]
        assert [e.value for e in events] == pytest.approx([getattr(results.stages[s], key) for s in STAGES], rel=1e-6)
    # class 0 (sedan) is removed in stage 2 (residual): no point at step 2
    sedan = ea.Scalars(f"test_per_class/{classes[0]}")
    assert [e.step for e in sedan] == [1, 3, 4]
    for name in classes[1:]:
        events = ea.Scalars(f"test_per_class/{name}")
        assert [e.step for e in events] == [1, 2, 3, 4]
        assert [e.value for e in events] == pytest.approx([results.stages[s].per_class[name] for s in STAGES])
    table = ea.Tensors("test/per_class/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.splitlines()[0] == "| class | rough | residual | balanced | classifier |"
    assert f"| {classes[0]} | " in table and " | – | " in table  # the removed class in stage 2


def test_a_confusion_matrix_image_per_stage(logged_run):
    _, _, _, ea = logged_run
    assert sorted(ea.Tags()["images"]) == sorted(f"confusion/{s}" for s in STAGES)
    import io

    from PIL import Image

    for k, stage in enumerate(STAGES, start=1):
        (event,) = ea.Images(f"confusion/{stage}")
        assert event.step == k and event.width > 200 and event.height > 200
        img = Image.open(io.BytesIO(event.encoded_image_string))
        assert img.size == (event.width, event.height) and img.mode == "RGB"


def test_hyper_parameters_and_final_metrics(logged_run):
    from tensorboard.plugins.hparams import plugin_data_pb2

    _, cfg, results, ea = logged_run
    content = ea.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert hp["recipe"].string_value == "three_stage"
    assert hp["seed"].number_value == cfg.seed
    assert hp["model.width"].number_value == 4
    assert hp["stages.rough.epochs"].number_value == 2 and hp["stages.residual.epochs"].number_value == 1
    assert hp["stages.residual.remove"].string_value == "[0]"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {"hparams/test_top1", "hparams/test_balanced"}
    (final,) = ea.Scalars("hparams/test_balanced")
    assert final.value == pytest.approx(results.final.balanced)


def test_flat_hparams_keys_stages_by_name():
    flat = tb_report.flat_hparams({"seed": 1, "data": {"train": "synthetic", "counts": None, "ratio": 2.5},
                            "stages": [{"name": "a", "epochs": 3, "remove": [0, 1], "description": "x"}]})
    assert flat == {"seed": 1, "data.train": "synthetic", "data.counts": "None", "data.ratio": 2.5,
                    "stages.a.epochs": 3, "stages.a.remove": "[0, 1]"}


def test_epoch_records_written_after_the_fact(tmp_path):
    records = [{"stage": "rough", "epoch": 1, "train_loss": 2.0, "lr": 0.1, "val_balanced": 0.25},
               {"stage": "rough", "epoch": 2, "train_loss": 1.5, "lr": 0.05, "val_balanced": float("nan")},
               {"stage": "rough", "epoch": 2, "tau": 0.8}, {"note": "no stage"}]
    assert tb.write_epoch_records(tmp_path, records) == 3
    ea = _events(tmp_path)
    assert [(e.step, e.value) for e in ea.Scalars("rough/train_loss")] == [(1, 2.0), (2, 1.5)]
    assert [e.step for e in ea.Scalars("rough/val_balanced")] == [1]  # NaN is left out
    assert [e.value for e in ea.Scalars("rough/tau")] == pytest.approx([0.8])


def test_a_clear_error_without_tensorboard(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails as if not installed
    assert not tb.tensorboard_available()
    with pytest.raises(ConfigError, match=r"tensorboard package is not installed.*pip install 'sartail\[tensorboard\]'"):
        tb.TensorBoardLogger(tmp_path / "tb")
    with pytest.raises(ConfigError, match="not installed"):
        tb_report.write_test_results(tmp_path / "tb", RunResults("ce", 0, {"classes": []}, {}))
    assert not (tmp_path / "tb").exists()


# ------------------------------------------------------------------------------ the command line
CLI_TINY = [a for k, v in TINY.items() if k != "device" for a in ("--set", f"{k}={v}")] + ["--device", "cpu", "--quiet",
                                                                                           "--no-figures"]


def test_cli_tensorboard_logs_trained_and_reused_stages_and_the_test_results(tmp_path):
    from sartail.cli import main

    out = tmp_path / "runs"
    assert main(["run", "ce,crt", "--out", str(out), "--tensorboard", *CLI_TINY]) == 0
    for recipe, stages in (("ce", ["rough"]), ("crt", ["rough", "classifier"])):
        run = out / recipe / "seed-0"
        ea = _events(run / "tensorboard")
        records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        for stage in stages:  # crt's rough stage was copied from ce's run (--reuse within the sweep) and still logged
            mine = [r for r in records if r["stage"] == stage and "train_loss" in r]
            assert [e.value for e in ea.Scalars(f"{stage}/train_loss")] == pytest.approx([r["train_loss"] for r in mine])
        results = json.loads((run / "results.json").read_text())
        assert [e.value for e in ea.Scalars("test/balanced")] == pytest.approx(
            [results["stages"][s]["balanced"] for s in stages])
    crt = torch_load(out / "crt" / "seed-0" / "checkpoints" / "stage-1-rough.pt")
    assert crt["reused_from"].endswith("seed-0")


def torch_load(path):
    import torch

    return torch.load(path, weights_only=True)


def test_the_config_key_and_a_clear_error_when_asked_for_without_the_package(tmp_path, monkeypatch, capsys):
    from sartail.cli import main

    assert main(["run", "ce", "--out", str(tmp_path / "auto"), "--set", "tensorboard=auto", *CLI_TINY]) == 0
    assert list((tmp_path / "auto" / "tensorboard").glob("events.out.tfevents.*"))  # installed here: auto is on
    assert main(["run", "ce", "--out", str(tmp_path / "off"), *CLI_TINY]) == 0
    assert not (tmp_path / "off" / "tensorboard").exists()  # off by default
    assert main(["run", "ce", "--out", str(tmp_path / "bad"), "--set", "tensorboard=maybe", *CLI_TINY]) == 2
    assert "tensorboard must be true, false or auto, got 'maybe'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert main(["run", "ce", "--out", str(tmp_path / "asked"), "--tensorboard", *CLI_TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tensorboard package is not installed" in err and "pip install" in err
    assert not (tmp_path / "asked").exists()  # refused before anything was made
    assert main(["run", "ce", "--out", str(tmp_path / "auto2"), "--set", "tensorboard=auto", *CLI_TINY]) == 0
    assert not (tmp_path / "auto2" / "tensorboard").exists()  # auto without the package: off, no error
