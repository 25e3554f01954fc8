"""Collection of the doctests in ``sartail/`` (``testpaths``): folders under ``sartail/`` without an
``__init__.py`` (namespace folders, until the re-layout makes them packages) are left out, as
pytest would import their modules under bare names (``sartail/train/tensorboard.py`` as
``tensorboard``, shadowing the real package). Once every folder is a package this ignores nothing.
"""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent / "sartail"
collect_ignore = [str(d) for d in sorted(_PACKAGE.rglob("*")) if d.is_dir() and d.name != "__pycache__"
                  and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
