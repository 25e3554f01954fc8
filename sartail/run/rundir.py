"""Run directories: the resolved config, provenance, metrics, checkpoints and results.

Layout of a run directory::

    config.yaml        the resolved configuration (rerun it with ``sartail run --from DIR``)
    provenance.json    package versions, git commit, seed, device, command
    metrics.jsonl      one line per stage epoch (deterministic: no wall-clock values)
    timing.jsonl       wall-clock seconds and throughput per epoch
    checkpoints/       last.pt (in progress) and stage-<i>-<name>.pt (each finished stage)
    results.json       test metrics of every stage, scored once at the end
    predictions.csv    the final model's test predictions
    figures/           per-class accuracy and confusion matrices (PNG, SVG, PDF)

Every file is written atomically (see :mod:`sartail.atomic`).
"""
from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import yaml

from ..atomic import jsonable, leftover_temp_files, write_json, write_text, write_yaml
from ..config import RunConfig, config_from_dict
from ..errors import ConfigError, RunError
from ..eval.results import RunResults
from ..version import __version__
from .checkpoint import load_checkpoint, save_checkpoint
from .lock import LOCK, RunLock

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
TIMING = "timing.jsonl"
RESULTS = "results.json"
PROVENANCE = "provenance.json"
PREDICTIONS = "predictions.csv"
LAST = "last.pt"


class RunDir:
    """One run's folder. Create it with :meth:`create`; reopen it with :meth:`open`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ---------------------------------------------------------------- create / open
    @classmethod
    def check_new(cls, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Raise :class:`RunError` unless a new run may be made in ``path`` (nothing is touched)."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunError(f"{path} exists and is not a folder")
        if path.exists() and _contents(path):
            if not overwrite:
                raise RunError(
                    f"run directory {path} already exists; resume it with `sartail run --resume {path}`, "
                    "or pass --overwrite to start it again (its files are then deleted)"
                )
            if not (path / CONFIG).exists():
                raise RunError(f"refusing to overwrite {path}: it does not look like a sartail run (no {CONFIG})")

    @classmethod
    def create(cls, path: str | os.PathLike, cfg: RunConfig, *, overwrite: bool = False) -> RunDir:
        """A new run folder holding ``cfg``. An existing non-empty folder is refused unless ``overwrite``."""
        run = cls(path)
        cls.check_new(run.path, overwrite=overwrite)
        existed, had_lock = run.path.exists(), (run.path / LOCK).exists()
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot make run folder {run.path}: {exc.strerror or exc}") from None
        with RunLock(run.path).hold("overwrite" if existed else "create"):  # not while another process writes it
            for p in _contents(run.path):  # --overwrite: the old run goes, the lock file stays
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            try:
                with run._writing(run.checkpoints, "{fix} and try again"):
                    run.checkpoints.mkdir()
                run.write_config(cfg)
            except BaseException:  # e.g. a full disk: leave no half-made run folder behind
                shutil.rmtree(run.checkpoints, ignore_errors=True)
                if not existed:
                    shutil.rmtree(run.path, ignore_errors=True)
                elif not had_lock:  # a folder the user made stays as it was: empty
                    (run.path / LOCK).unlink(missing_ok=True)
                raise
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunDir:
        run = cls(path)
        if not (run.path / CONFIG).exists():
            raise RunError(f"{run.path} is not a sartail run directory (no {CONFIG})")
        return run

    # ---------------------------------------------------------------- config / provenance
    def write_config(self, cfg: RunConfig) -> None:
        with self._writing(self.path / CONFIG, "{fix} and try again"):
            write_yaml(self.path / CONFIG, cfg.to_dict())

    @contextlib.contextmanager
    def _writing(self, path: Path, hint: str | None = None) -> Iterator[None]:
        """Turn an ``OSError`` while writing ``path`` (a full disk, ...) into a clear :class:`RunError`."""
        try:
            yield
        except OSError as exc:
            reason = exc.strerror or str(exc)
            fix = "free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "fix that"
            hint = hint.replace("{fix}", fix) if hint else f"{fix}, then resume with `sartail run --resume {self.path}`"
            raise RunError(f"could not write {path}: {reason}. The files written before are intact; {hint}") from exc

    # ---------------------------------------------------------------- leftovers of a killed process
    def remove_stale_temp_files(self) -> list[Path]:
        """Delete the temporary files of atomic writes that a killed process left (``.<name>.<random>.tmp``).

        Call it only when no process is writing to this run (on resume). Returns the files removed.
        """
        removed = []
        for p in leftover_temp_files(self.path, recursive=True):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
        return removed

    def repair_jsonl(self, name: str) -> None:
        """Drop a torn last line of ``name`` (left by a kill or a full disk) so that appends stay readable."""
        p = self.path / name
        if not p.exists():
            return
        data = p.read_bytes()
        records = read_jsonl(p)
        if data and (not data.endswith(b"\n") or len(records) != data.count(b"\n")):
            with self._writing(p):
                write_text(p, _jsonl(records))

    def config(self) -> RunConfig:
        try:
            data = yaml.safe_load((self.path / CONFIG).read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.path / CONFIG} is not valid YAML: {exc}") from None
        return config_from_dict(data)

    def write_provenance(self, cfg: RunConfig, device: torch.device, world_size: int = 1) -> None:
        info = provenance(cfg, device, world_size)
        old = self.provenance()
        if old:  # a resumed run keeps its first provenance and notes each resume
            info = {**old, "resumed": [*old.get("resumed", []), {k: info[k] for k in ("time", "host", "device", "cpu_capability")}]}
        with self._writing(self.path / PROVENANCE):
            write_json(self.path / PROVENANCE, info)

    def provenance(self) -> dict[str, Any]:
        p = self.path / PROVENANCE
        return json.loads(p.read_text()) if p.exists() else {}

    # ---------------------------------------------------------------- metrics
    def append_jsonl(self, name: str, record: dict[str, Any]) -> None:
        with self._writing(self.path / name), open(self.path / name, "a", encoding="utf-8") as fh:
            fh.write(_jsonl([record]))
            fh.flush()

    def log_metrics(self, record: dict[str, Any]) -> None:
        self.append_jsonl(METRICS, record)

    def log_timing(self, record: dict[str, Any]) -> None:
        self.append_jsonl(TIMING, record)

    def metrics(self) -> list[dict[str, Any]]:
        """Every complete line of ``metrics.jsonl`` (a torn last line is ignored)."""
        return read_jsonl(self.path / METRICS)

    def truncate_metrics(self, n: int) -> None:
        """Keep the first ``n`` records of ``metrics.jsonl`` (drops lines written after a checkpoint)."""
        records = self.metrics()[:n]
        with self._writing(self.path / METRICS):
            write_text(self.path / METRICS, _jsonl(records))

    # ---------------------------------------------------------------- checkpoints
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def stage_checkpoint(self, index: int, name: str) -> Path:
        return self.checkpoints / f"stage-{index + 1}-{name}.pt"

    def save(self, path: Path, obj: dict[str, Any]) -> None:
        """Write a checkpoint (tensors and plain values only; see :mod:`sartail.run.checkpoint`)."""
        with self._writing(path):
            save_checkpoint(path, obj)

    def load(self, path: Path) -> dict[str, Any]:
        """Read a checkpoint safely (``weights_only``, format version checked); :class:`RunError` if refused."""
        return load_checkpoint(path)

    # ---------------------------------------------------------------- results
    def write_results(self, results: RunResults) -> None:
        with self._writing(self.path / RESULTS):
            write_json(self.path / RESULTS, results.to_json())

    def results(self) -> RunResults:
        p = self.path / RESULTS
        if not p.exists():
            raise RunError(f"{self.path} has no {RESULTS}: the run has not finished (resume it to finish)")
        return RunResults.from_json(json.loads(p.read_text()))

    def write_csv(self, name: str | Path, header: list[str], rows: Iterable[Iterable[Any]]) -> Path:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        path = self.path / name
        with self._writing(path):
            write_text(path, buf.getvalue())
        return path

    @property
    def figures(self) -> Path:
        return self.path / "figures"


def _contents(folder: Path) -> list[Path]:
    """What ``folder`` holds besides its lock file."""
    return [p for p in folder.iterdir() if p.name != LOCK]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line torn by a kill; everything after it is suspect too
    return out


def _jsonl(records: Iterable[dict[str, Any]]) -> str:
    """``records`` as JSON lines, each ending with a newline."""
    return "".join(json.dumps(r, default=jsonable) + "\n" for r in records)


def git_commit() -> str | None:
    """The commit of the git checkout sartail runs from, if it is one (with '+dirty')."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _package_version(name: str) -> str | None:
    """The version of an imported module, else of its installed distribution (importing
    torchvision only to read its version takes seconds)."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__version__", None)
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def provenance(cfg: RunConfig, device: torch.device, world_size: int = 1) -> dict[str, Any]:
    """Versions, commit, seed, device and command line of this process."""
    import numpy

    return {
        "sartail": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": _package_version("torchvision"),
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "device": str(device),
        "cuda": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
        # the instruction set torch's CPU kernels use (e.g. AVX2, AVX512): float results, and so a
        # run's numbers, are bit for bit only between machines of the same torch build and capability
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "world_size": world_size,
        "seed": cfg.seed,
        "recipe": cfg.recipe,
        "command": sys.argv,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
