"""sartail: long-tailed classification of SAR target chips.

The three-stage strategy of Li et al. 2021 (rough, residual, balanced fine-tuning) beside
the long-tailed classics, on one data layer, one training loop and one set of metrics.
"""
__version__ = "0.1.0"

from . import data  # noqa: E402
from .config import load_config  # noqa: E402
from .errors import ConfigError, DataError, RunError, SartailError, StopRequested  # noqa: E402
from .pipeline import Run, prepare_data  # noqa: E402

__all__ = ["__version__", "data", "load_config", "Run", "prepare_data", "SartailError", "DataError", "ConfigError",
           "RunError", "StopRequested"]
