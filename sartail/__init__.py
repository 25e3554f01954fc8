"""sartail: long-tailed classification of SAR target chips.

The three-stage strategy of Li et al. 2021 (rough, residual, balanced fine-tuning) beside
the long-tailed classics, on one data layer, one training loop and one set of metrics.
"""
from . import data
from .config import load_config
from .data.splits import prepare_data
from .errors import ConfigError, DataError, RunError, SartailError, StopRequested
from .run.run import Run
from .version import __version__

__all__ = ["__version__", "data", "load_config", "Run", "prepare_data", "SartailError", "DataError", "ConfigError",
           "RunError", "StopRequested"]
