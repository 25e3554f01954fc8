"""The wheel installs and works: built, installed (not editable) into a fresh virtual
environment, and run from there, so that a module or package-data file (the recipes' YAML)
missing from the wheel fails here and not on a user's machine.

The wheel is built from a copy of ``pyproject.toml``, ``README.md`` and ``sartail/`` (no stale
``build/`` folder can leak files into it). The fresh environment reaches the current
environment's packages (torch ...) through a ``.pth`` line, which adds that folder to
``sys.path`` without running its ``.pth`` files, so the editable install of the working tree
cannot shadow the wheel; the test checks that ``sartail`` is imported from the new
environment's ``site-packages``. Nothing is downloaded (``--no-index``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ["--set", "data.scale=0.004", "--set", "data.test_per_class=10", "--set", "model.width=4",
        "--set", "stages.*.epochs=1", "--set", "batch_size=64", "--device", "cpu", "--quiet", "--no-figures",
        "--set", "budget.min_samples=0", "--set", "budget.head_min_samples=0"]  # no floor (the wheel test has no helpers)

pytestmark = pytest.mark.slow


def _run(cmd: list[str | os.PathLike], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment without anything that would point Python at the working tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update({"SARTAIL_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "PIP_NO_INPUT": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sartail-*.whl`` built from a clean copy of the sources."""
    src = tmp_path_factory.mktemp("wheel-src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "sartail", src / "sartail", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out,
          src], cwd=src, env=_clean_env(src))
    wheels = list(out.glob("sartail-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_every_module_and_recipe(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((REPO / "sartail").rglob("*")):
        rel = path.relative_to(REPO).as_posix()
        if path.suffix in (".py", ".yaml") and "__pycache__" not in rel:
            assert rel in names, f"{rel} is missing from {wheel.name}"
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


def test_the_wheel_installs_and_runs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path, env=env)
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).strip())
    # the current environment's packages (torch, numpy ...), as plain sys.path entries after the new site-packages
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_outer_env.pth").write_text("".join(f"{p}\n" for p in sorted(here)))
    # this environment's pip installs into the new one (a venv without pip of its own is made in a second)
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel],
         cwd=tmp_path, env=env)

    where = _run([py, "-c", "import sartail; print(sartail.__file__)"], tmp_path, env).strip()
    assert Path(where).resolve().is_relative_to(site.resolve()), f"sartail imported from {where}, not from {site}"

    sartail = venv / "bin" / "sartail"  # the console script of the wheel's entry point
    recipes = _run([sartail, "recipes"], tmp_path, env)
    for name in ("ce", "three_stage", "ldam_drw", "mislas"):
        assert name in recipes, recipes
    out = tmp_path / "runs" / "ce"
    shown = _run([sartail, "run", "ce", "--out", out, *TINY], tmp_path, env, timeout=300)
    assert "balanced" in shown
    for name in ("config.yaml", "results.json", "predictions.csv", "checkpoints/stage-1-rough.pt"):
        assert (out / name).is_file(), f"{name} missing from the run made by the installed wheel"
