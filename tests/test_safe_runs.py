"""Run folders that are safe to open and to share: checkpoints are data (``weights_only``, a
format version), and one writer at a time holds a run folder (:mod:`sartail.run.lock`).

The two-writer tests use real processes (``python -m sartail`` and a ``python -c`` holder) and
a notebook-style background thread (``Run.fit`` in a ``threading.Thread``, as the stage panel
runs it) against a CLI process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from tiny_runs import TINY

from sartail import Run, load_config
from sartail.cli import main
from sartail.errors import RunError, RunLockedError, StopRequested
from sartail.run.checkpoint import FORMAT_VERSION, load_checkpoint
from sartail.run.lock import LOCK, RunLock
from sartail.run.rundir import RunDir
from sartail.train.callbacks import Callback, StopFlag

REPO = Path(__file__).resolve().parents[1]
CLI_TINY = [a for k, v in TINY.items() if k != "device" for a in ("--set", f"{k}={v}")] + ["--device", "cpu",
                                                                                           "--quiet", "--no-figures"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def sartail(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sartail", *args], capture_output=True, text=True, env=_env(),
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny ce run."""
    path = tmp_path_factory.mktemp("safe") / "ce"
    Run.create(load_config("ce", TINY), path, progress=False).fit_and_test()
    return path


# ------------------------------------------------------------------------------ checkpoints
class _CreatesAFile:
    """Unpickling this object calls ``open(path, "w")``: a stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_every_checkpoint_sartail_writes_loads_weights_only_with_its_format(tmp_path):
    path = tmp_path / "run"
    cfg = load_config("three_stage", {**TINY, "checkpoint_every": 2})
    run = Run.create(cfg, path, progress=False)
    flag = StopFlag()

    class StopInBalanced(Callback):
        def on_step(self, step):
            if step.stage == "balanced" and step.step == 3:
                flag.set()

    with pytest.raises(StopRequested):
        run.fit(callbacks=[StopInBalanced(), flag])
    names = sorted(p.name for p in (path / "checkpoints").glob("*.pt"))
    assert names == ["last.pt", "stage-1-rough.pt", "stage-2-residual.pt"]
    for p in (path / "checkpoints").glob("*.pt"):
        ckpt = torch.load(p, map_location="cpu", weights_only=True)  # no error: tensors and plain values only
        assert (ckpt["format"], ckpt["format_version"]) == ("sartail-checkpoint", FORMAT_VERSION)
    loop = torch.load(path / "checkpoints" / "last.pt", weights_only=True)["loop"]
    assert loop["torch_rng"].dtype == torch.uint8 and loop["aug_rng"].dtype == torch.uint8  # RNG states as tensors
    assert isinstance(loop["optimizer"]["state"], dict) and loop["step"] == 3


def test_a_checkpoint_whose_unpickling_would_run_code_is_refused_and_runs_nothing(finished, tmp_path, capsys):
    marker = tmp_path / "pwned.txt"
    run = tmp_path / "received"
    import shutil

    shutil.copytree(finished, run)
    evil = run / "checkpoints" / "stage-1-rough.pt"
    good = torch.load(evil, weights_only=True)
    torch.save({**good, "model": _CreatesAFile(marker)}, evil)
    with pytest.raises(RunError, match=rf"refusing to load checkpoint {evil}: it holds objects other than tensors and plain Python values \(it calls [a-z.]*open\)"):
        load_checkpoint(evil)
    assert not marker.exists()
    # through the command line: eval, predict and resume all refuse it in one line, exit 2
    assert main(["eval", str(run), "--data", "synthetic:test_per_class=2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"refusing to load checkpoint {evil}" in err and "Traceback" not in err
    assert main(["predict", str(run), "--data", "synthetic:test_per_class=2", "--out", str(tmp_path / "p.csv"),
                 "--quiet"]) == 2
    (run / "results.json").unlink()
    assert main(["run", "--resume", str(run), "--quiet", "--no-figures"]) == 2
    assert "refusing to load checkpoint" in capsys.readouterr().err
    assert not marker.exists()
    # the crafted file really does create the marker when unpickled without weights_only: the test can fail
    torch.load(evil, weights_only=False)
    assert marker.exists()


def test_a_checkpoint_of_another_format_says_what_it_is_and_what_to_do(finished, tmp_path):
    ckpt = torch.load(finished / "checkpoints" / "stage-1-rough.pt", weights_only=True)
    old = tmp_path / "old.pt"
    torch.save({k: v for k, v in ckpt.items() if k not in ("format", "format_version")}, old)
    with pytest.raises(RunError, match=r"old.pt is not a sartail checkpoint of format 1 \(it has no format version\)"
                                       r".*Train that stage again"):
        load_checkpoint(old)
    newer = tmp_path / "newer.pt"
    torch.save({**ckpt, "format_version": FORMAT_VERSION + 1}, newer)
    with pytest.raises(RunError, match=rf"has format version {FORMAT_VERSION + 1}; this sartail reads version "
                                       rf"{FORMAT_VERSION}: upgrade sartail"):
        load_checkpoint(newer)
    plain = tmp_path / "weights.pt"
    torch.save(ckpt["model"], plain)  # a bare state dict from elsewhere
    with pytest.raises(RunError, match="is not a sartail checkpoint"):
        load_checkpoint(plain)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match=f"cannot read checkpoint {garbage}"):
        load_checkpoint(garbage)


# ------------------------------------------------------------------------------ one writer
HOLD = ("import sys, time; from sartail.run.lock import RunLock; lock = RunLock(sys.argv[1]); lock.acquire(); "
        "print('held', flush=True); time.sleep(600)")


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_process_fails_at_once_naming_the_holder_and_a_killed_holder_is_taken_over(finished,
                                                                                                  tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "results.json").unlink()  # a run that still has to be tested: `--resume` writes
    proc = _holder(run)
    try:
        t0 = time.monotonic()
        second = sartail("run", "--resume", str(run), "--quiet", "--no-figures")
        assert second.returncode == 2, second.stderr
        assert time.monotonic() - t0 < 60  # at once: no waiting for the holder (generous bound for start-up)
        err = second.stderr
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"cannot train in {run}: another sartail is writing it (pid {proc.pid} on host " in err
        assert " since 20" in err and "Wait for it to finish or stop it" in err and "--out" in err
        assert not (run / "results.json").exists()
        over = sartail("run", "ce", "--out", str(run), "--overwrite", *CLI_TINY)  # nor may --overwrite delete it
        assert over.returncode == 2 and "cannot overwrite" in over.stderr and (run / "config.yaml").exists()
        # readers need no lock: eval of its trained model works while it is held, and writes nothing there
        before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
        assert main(["eval", str(run), "--data", "synthetic:test_per_class=2", "--quiet"]) == 0
        assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before
        reader = RunLock(run).holder()
        assert reader is not None and reader["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the killed holder's record is still in the file, but the lock is free: the next writer takes it over
    assert json.loads((run / LOCK).read_text())["pid"] == proc.pid
    assert RunLock(run).holder() is None
    lock = RunLock(run)
    with lock:
        assert lock.took_over is not None and lock.took_over["pid"] == proc.pid
    third = sartail("run", "--resume", str(run), "--quiet", "--no-figures")
    assert third.returncode == 0, third.stderr
    assert (run / "results.json").exists() and (run / LOCK).read_text() == ""  # released: emptied


class _Pause(Callback):
    """Holds a background run at its first step until released (a notebook's panel run, paused)."""

    def __init__(self) -> None:
        self.reached, self.go = threading.Event(), threading.Event()

    def on_step(self, info):
        if not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(240)


def test_a_notebook_background_run_and_a_cli_process(tmp_path):
    """Notebooks 01-03 share one run folder: the panel's background run holds it while it trains
    and gives it back when it finishes or stops."""
    path = tmp_path / "three_stage"
    run = Run.create(load_config("three_stage", TINY), path, progress=False)
    pause, flag = _Pause(), StopFlag()
    errors: list[BaseException] = []

    def fit():
        try:
            run.fit("rough", callbacks=[pause, flag])
        except BaseException as exc:  # noqa: BLE001 - collected for the test
            errors.append(exc)

    thread = threading.Thread(target=fit, name="stage-panel")
    thread.start()
    assert pause.reached.wait(120)
    cli = sartail("run", "--resume", str(path), "--quiet", "--no-figures")
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert f"cannot train in {path}: another sartail is writing it (pid {os.getpid()} on host " in cli.stderr
    assert "(thread stage-panel)" in cli.stderr
    with pytest.raises(RunLockedError, match="another sartail is writing it"):  # a second kernel object, same process
        Run.resume(path, progress=False).fit()
    flag.set()  # the Stop button
    pause.go.set()
    thread.join(120)
    assert len(errors) == 1 and isinstance(errors[0], StopRequested)
    assert RunLock(path).holder() is None  # a stopped background run gives the folder back
    # and one that finishes gives it back too: the next notebook's kernel goes on, then the CLI
    Run.resume(path, progress=False).fit("rough")
    assert RunLock(path).holder() is None
    done = sartail("run", "--resume", str(path), "--quiet", "--no-figures")
    assert done.returncode == 0, done.stderr
    assert RunDir.open(path).results().final_stage == "classifier"
