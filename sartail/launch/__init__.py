"""What the command line and the notebooks share to start runs.

- :mod:`~sartail.launch.params`: the one translation of front-end parameters (``--data``,
  ``--ratio``, a notebook's ``DATA``, ``RATIO``, ``ROUGH_EPOCHS`` ...) into config overrides,
  and the configs of the quick settings;
- :mod:`~sartail.launch.hooks`: what happens when a run starts and ends (figures, TensorBoard logs);
- :mod:`~sartail.launch.demo`: the plan of ``sartail demo``.
"""
from .hooks import RunHooks, TensorBoardHooks, write_figures
from .params import PARAMETERS, data_overrides, make_config, params_from_args, stage_overrides

__all__ = ["PARAMETERS", "RunHooks", "TensorBoardHooks", "data_overrides", "make_config", "params_from_args",
           "stage_overrides", "write_figures"]
