"""Reliability under faults: real kills, Ctrl-C, the Stop button, a full disk, bad input.

Every kill here is a real ``SIGKILL`` sent by this process to a real ``python -m sartail``
subprocess. Deterministic kill points (a step drawn at random, with a fixed seed, from each
epoch of each stage; the middle of a checkpoint, a metrics line, ``results.json``) are
reached through a ``sitecustomize`` hook that the subprocess imports at start-up (see
:data:`HOOK`): at the chosen point it writes a marker file and waits, and the test kills it.
Other kills land at seeded random moments of a run without any hook. Every interrupted run
is resumed (``sartail run --resume DIR`` or ``Run.resume(DIR)``) and must end with the very
same ``metrics.jsonl``, ``results.json`` and ``predictions.csv`` as a run that was never
interrupted -- bit for bit, on the CPU.

All runs use one CPU thread (``OMP_NUM_THREADS=1`` in the subprocesses,
``torch.set_num_threads(1)`` here): CPU results are bit-identical for a given thread count
(and one thread is much faster on a busy two-core machine).

Where each kill landed is collected in :data:`COUNTS` and printed at the end of the module
(``pytest -s``), and merged into the JSON file ``$SARTAIL_RELIABILITY_COUNTS`` if set;
RELIABILITY.md quotes those numbers.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from tiny_runs import TINY, Recorder, report_reliability_counts

import sartail.run.rundir as runs_mod
from sartail import Run, atomic, prepare_data
from sartail.cli import main
from sartail.config import load_config
from sartail.errors import RunError, StopRequested
from sartail.train.callbacks import Callback, StopFlag

#: the runs of this module: the engine tests' tiny settings on half as many 32 x 32 chips, batches
#: of 32, two rough epochs and a checkpoint every 3 steps (so that a kill lands before or after one)
OVERRIDES = {**TINY, "data.scale": 0.002, "data.size": 32, "batch_size": 32, "stages.rough.epochs": 2,
             "checkpoint_every": 3}
CLI_SETTINGS = [arg for k, v in OVERRIDES.items() if k != "device" for arg in ("--set", f"{k}={v}")]
CLI_SETTINGS += ["--device", "cpu", "--quiet", "--no-figures"]
KILL_SEED = 5  # the seed that picks the kill points (recorded in RELIABILITY.md)
TIMEOUT = 300  # seconds any one subprocess may take (a generous bound on a busy machine)

COUNTS: dict[str, list] = {"kills": [], "interrupts": [], "disk_full": []}


# ------------------------------------------------------------------------------ the hook
HOOK = r'''
"""Test hook of tests/test_reliability.py: pause a sartail process at a chosen point."""
import contextlib, io, json, os, sys, time
from pathlib import Path

_spec = json.loads(os.environ.get("SARTAIL_TEST_HOOK") or "null")
if _spec:
    import sartail.atomic as _atomic
    import sartail.run.run as _pipeline
    import sartail.run.rundir as _runs
    from sartail.train.callbacks import Callback as _Callback

    _marker = Path(_spec["marker"])
    _at = _spec["at"]
    _count = [0]

    def _pause(where):
        part = _marker.with_name(_marker.name + ".part")
        part.write_text(json.dumps(where))
        os.replace(part, _marker)  # the test sees the marker whole, then kills this process
        if _spec.get("mode") == "interrupt":  # wait for the test's Ctrl-C, then go on
            while _marker.exists():
                time.sleep(0.01)
            time.sleep(0.05)
            return
        while True:
            time.sleep(0.05)

    if _at["kind"] == "step":  # right after a training step
        class _At(_Callback):
            def on_step(self, step):
                if [step.stage, step.epoch, step.step] == [_at["stage"], _at["epoch"], _at["step"]]:
                    _pause(dict(_at))

        _init = _pipeline.Run.__init__

        def _run_init(self, *args, **kwargs):
            _init(self, *args, **kwargs)
            self.callbacks.append(_At())

        _pipeline.Run.__init__ = _run_init

    elif _at["kind"] == "write":  # half-way through the nth atomic write of a file
        _real_open = _atomic.atomic_open

        @contextlib.contextmanager
        def _atomic_open(path, mode="wb"):
            hit = Path(path).name == _at["name"]
            if hit:
                _count[0] += 1
            if not hit or _count[0] != _at.get("nth", 1):
                with _real_open(path, mode) as fh:
                    yield fh
                return
            buf = io.BytesIO() if "b" in mode else io.StringIO()
            yield buf
            data = buf.getvalue()
            with _real_open(path, mode) as fh:
                fh.write(data[: len(data) // 2])
                fh.flush()
                os.fsync(fh.fileno())
                _pause({**_at, "written": len(data) // 2, "of": len(data)})

        _atomic.atomic_open = _atomic_open

    elif _at["kind"] == "append":  # half-way through the nth line appended to a .jsonl file
        _real_append = _runs.RunDir.append_jsonl

        def _append(self, name, record):
            if name == _at["name"]:
                _count[0] += 1
                if _count[0] == _at.get("nth", 1):
                    line = json.dumps(record) + "\n"
                    with open(self.path / name, "a") as fh:
                        fh.write(line[: len(line) // 2])
                        fh.flush()
                        os.fsync(fh.fileno())
                    _pause({**_at, "record": {k: record.get(k) for k in ("stage", "epoch")}})
            _real_append(self, name, record)

        _runs.RunDir.append_jsonl = _append
'''


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hook")
    (folder / "sitecustomize.py").write_text(HOOK)
    return folder


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    summary = {
        "kill_points": len(COUNTS["kills"]),
        "kill_stages": sorted({k["stage"] for k in COUNTS["kills"] if k.get("stage")}),
        "interrupts": len(COUNTS["interrupts"]),
        "disk_full_faults": len(COUNTS["disk_full"]),
        "kills": COUNTS["kills"],
    }
    report_reliability_counts("test_reliability", summary)


# ------------------------------------------------------------------------------ reference
@dataclass
class Reference:
    run: Run
    metrics: str
    results: dict
    predictions: str
    steps: list[tuple[str, int, int]]  # every (stage, epoch, step) of the run, in order
    steps_per_epoch: dict[tuple[str, int], int]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Reference:
    """The run that is never interrupted (in this process, one thread)."""
    rec = Recorder()
    run = Run.create(load_config("three_stage", OVERRIDES), tmp_path_factory.mktemp("reference") / "run",
                     progress=False, callbacks=[rec])
    run.fit_and_test()
    steps = [(s, e, k) for s, e, k, _ in rec.steps]
    per_epoch: dict[tuple[str, int], int] = {}
    for s, e, k in steps:
        per_epoch[(s, e)] = max(per_epoch.get((s, e), 0), k)
    return Reference(run, (run.dir.path / "metrics.jsonl").read_text(),
                     json.loads((run.dir.path / "results.json").read_text()),
                     (run.dir.path / "predictions.csv").read_text(), steps, per_epoch)


def assert_same_as_reference(path: Path, ref: Reference) -> None:
    assert (path / "metrics.jsonl").read_text() == ref.metrics
    results = json.loads((path / "results.json").read_text())
    assert results["final"] == ref.results["final"]
    assert results == ref.results  # every stage's test metrics, the data summary, validation numbers
    assert (path / "predictions.csv").read_text() == ref.predictions
    assert not (path / "checkpoints" / "last.pt").exists()
    assert temp_files(path) == []


def temp_files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*.tmp"))


def assert_nothing_half_written(path: Path) -> None:
    """Every file but the temporary ones of atomic writes is whole (a torn metrics line is tolerated)."""
    for p in sorted(path.rglob("*")):
        if p.is_dir() or p.name.endswith(".tmp"):
            continue
        if p.suffix == ".pt":
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
            assert "meta" in ckpt, p
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".yaml":
            yaml.safe_load(p.read_text())
        elif p.suffix == ".jsonl":
            lines = p.read_text().split("\n")
            for line in lines[:-1]:  # every line but an unfinished last one
                json.loads(line)
        elif p.suffix == ".csv":
            rows = p.read_text().splitlines()
            assert rows[0] == "id,label,prediction,confidence" and all(len(r.split(",")) == 4 for r in rows)


# ------------------------------------------------------------------------------ subprocesses
def env_for(tmp_path: Path, hook: dict | None = None, hook_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SARTAIL_TEST_HOOK"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", SARTAIL_CACHE_DIR=str(tmp_path / "cache"))
    if hook is not None:
        env["SARTAIL_TEST_HOOK"] = json.dumps(hook)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook_dir), env.get("PYTHONPATH")) if p)
    return env


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """A failing test must not leave one of its subprocesses running (only those it started)."""
    yield
    while STARTED:
        p = STARTED.pop()
        if p.poll() is None:
            p.kill()
            p.wait(30)


@dataclass
class Proc:
    popen: subprocess.Popen
    out: Path
    err: Path

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.popen.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    @property
    def stdout(self) -> str:
        return self.out.read_text()


def start(args: list[str], tmp_path: Path, name: str, hook: dict | None = None, hook_dir: Path | None = None,
          **popen) -> Proc:
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.Popen([sys.executable, "-m", "sartail", *args], stdout=o, stderr=e,
                             env=env_for(tmp_path, hook, hook_dir), **popen)
    STARTED.append(p)
    return Proc(p, out, err)


def wait_for_marker(proc: Proc, marker: Path, timeout: float = TIMEOUT) -> dict:
    t0 = time.monotonic()
    while not marker.exists():
        if proc.popen.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.popen.returncode}) before reaching {marker.name}:\n"
                        f"{proc.stderr[-3000:]}")
        if time.monotonic() - t0 > timeout:
            proc.popen.kill()
            pytest.fail(f"{marker.name} not reached in {timeout} s")
        time.sleep(0.01)
    return json.loads(marker.read_text())


def sigkill(proc: Proc) -> None:
    proc.popen.send_signal(signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL


def landing(path: Path) -> dict:
    """Where a kill left a run: finished stages, the in-stage checkpoint, metrics lines, temp files."""
    ck = path / "checkpoints"
    last = ck / "last.pt"
    info: dict = {
        "stage_checkpoints": sorted(p.name for p in ck.glob("stage-*.pt")) if ck.exists() else [],
        "metrics_lines": (path / "metrics.jsonl").read_text().count("\n") if (path / "metrics.jsonl").exists() else 0,
        "temp_files": temp_files(path),
    }
    if last.exists():
        c = torch.load(last, map_location="cpu", weights_only=True)
        info["last_pt"] = [c["stage_index"], c["loop"]["epoch"], c["loop"]["step"]]
    return info


def resume_args(path: Path) -> list[str]:
    return ["run", "--resume", str(path), "--quiet", "--no-figures"]


# ------------------------------------------------------------------------------ kills
@pytest.mark.slow
def test_sigkill_at_random_steps_of_every_stage_then_resume_from_the_cli(tmp_path, reference, hook_dir):
    """Five real kills in a row, one at a random step of each epoch of each stage; `--resume` finishes."""
    rng = random.Random(KILL_SEED)
    points = [(s, e, rng.randint(1, n)) for (s, e), n in reference.steps_per_epoch.items()]
    assert [p[0] for p in points] == ["rough", "rough", "residual", "balanced", "classifier"]
    run = tmp_path / "run"
    for i, (stage, epoch, step) in enumerate(points):
        marker = tmp_path / f"marker-{i}"
        args = ["run", "three_stage", "--out", str(run), *CLI_SETTINGS] if i == 0 else resume_args(run)
        hook = {"marker": str(marker), "at": {"kind": "step", "stage": stage, "epoch": epoch, "step": step}}
        proc = start(args, tmp_path, f"p{i}", hook, hook_dir)
        wait_for_marker(proc, marker)
        sigkill(proc)
        where = landing(run)
        COUNTS["kills"].append({"test": "random_steps", "stage": stage, "epoch": epoch, "step": step,
                                "steps_in_epoch": reference.steps_per_epoch[(stage, epoch)], **where})
        assert_nothing_half_written(run)
    proc = start(resume_args(run), tmp_path, "final")
    assert proc.wait() == 0, proc.stderr
    assert "classifier" in proc.stdout  # the stage table
    assert_same_as_reference(run, reference)
    assert len(json.loads((run / "provenance.json").read_text())["resumed"]) == len(points)


MID_WRITE = [
    # (file, which write of it in that process, what must hold right after the kill)
    ("last.pt", 2, "the first last.pt is intact"),
    ("metrics.jsonl", 3, "a torn metrics line"),
    ("stage-3-balanced.pt", 1, "no stage-3 checkpoint yet"),
    ("results.json", 1, "no results yet"),
    ("predictions.csv", 1, "results.json written, no predictions yet"),
]


@pytest.mark.slow
def test_sigkill_in_the_middle_of_writing_each_kind_of_file_then_resume_from_python(tmp_path, reference, hook_dir):
    """Killed half-way through a checkpoint, a metrics line, results and predictions: nothing is lost."""
    run = tmp_path / "run"
    for i, (name, nth, _) in enumerate(MID_WRITE):
        marker = tmp_path / f"marker-{i}"
        kind = "append" if name.endswith(".jsonl") else "write"
        args = ["run", "three_stage", "--out", str(run), *CLI_SETTINGS] if i == 0 else resume_args(run)
        proc = start(args, tmp_path, f"p{i}", {"marker": str(marker), "at": {"kind": kind, "name": name, "nth": nth}},
                     hook_dir)
        info = wait_for_marker(proc, marker)
        sigkill(proc)
        where = landing(run)
        COUNTS["kills"].append({"test": "mid_write", "file": name, "nth": nth, "stage": where_stage(where), **info,
                                **where})
        assert_nothing_half_written(run)
        if kind == "write":  # the half-written bytes sit in a temporary file; the target is old or absent
            assert any(t.split("/")[-1].startswith(f".{name}.") for t in where["temp_files"]), where
        if name == "last.pt":
            assert where["last_pt"] == [0, 0, 3]  # the checkpoint of step 3, whole
        elif name == "metrics.jsonl":
            assert not (run / "metrics.jsonl").read_text().endswith("\n")
        elif name.startswith("stage-3"):
            assert where["stage_checkpoints"] == ["stage-1-rough.pt", "stage-2-residual.pt"]
        elif name == "results.json":
            assert not (run / "results.json").exists() and len(where["stage_checkpoints"]) == 4
        else:
            assert json.loads((run / "results.json").read_text()) == reference.results
            assert not (run / "predictions.csv").exists()
    resumed = Run.resume(run, progress=False)
    assert temp_files(run) == []  # resume deleted what the kills left half-written
    resumed.fit_and_test()
    assert_same_as_reference(run, reference)


def where_stage(where: dict) -> str:
    names = ["rough", "residual", "balanced", "classifier"]
    done = len(where["stage_checkpoints"])
    return "test" if done == 4 else names[done]


@pytest.mark.slow
def test_sigkill_at_seeded_random_moments_without_any_hook(tmp_path, reference):
    """Plain `python -m sartail`, killed after a seeded random delay past some progress; resumed twice."""
    rng = random.Random(KILL_SEED + 1)
    run = tmp_path / "run"
    total = reference.metrics.count("\n")
    plan = sorted(rng.sample(range(total), 2))
    lines_before = -1
    for i, after_lines in enumerate(plan):
        delay = round(rng.uniform(0.0, 1.0), 3)
        args = ["run", "three_stage", "--out", str(run), *CLI_SETTINGS] if i == 0 else resume_args(run)
        proc = start(args, tmp_path, f"p{i}")
        t0 = time.monotonic()
        while proc.popen.poll() is None and time.monotonic() - t0 < TIMEOUT:
            text = (run / "metrics.jsonl").read_text() if (run / "metrics.jsonl").exists() else ""
            if (run / "config.yaml").exists() and text.count("\n") >= max(after_lines, lines_before + 1 if i else 0):
                break
            time.sleep(0.01)
        time.sleep(delay)
        finished = proc.popen.poll() is not None
        if not finished:
            sigkill(proc)
        where = landing(run)
        lines_before = where["metrics_lines"]
        COUNTS["kills"].append({"test": "random_moment", "after_metrics_lines": after_lines, "delay_s": delay,
                                "finished_before_kill": finished, "stage": where_stage(where), **where})
        assert_nothing_half_written(run)
    Run.resume(run, progress=False).fit_and_test()
    assert_same_as_reference(run, reference)


# ------------------------------------------------------------------------------ stops
@pytest.mark.slow
def test_ctrl_c_stops_at_the_next_step_keeps_a_checkpoint_and_says_how_to_resume(tmp_path, reference, hook_dir):
    rng = random.Random(KILL_SEED + 2)
    steps = reference.steps_per_epoch[("balanced", 1)]
    step = rng.randint(1, steps - 1)  # not the last step: the stop then lands in the same epoch
    run = tmp_path / "run"
    marker = tmp_path / "marker"
    hook = {"marker": str(marker), "mode": "interrupt",
            "at": {"kind": "step", "stage": "balanced", "epoch": 1, "step": step}}
    proc = start(["run", "three_stage", "--out", str(run), *CLI_SETTINGS], tmp_path, "p", hook, hook_dir)
    wait_for_marker(proc, marker)
    proc.popen.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
    marker.unlink()
    assert proc.wait() == 130
    err = proc.stderr
    assert f"stage 'balanced' stopped at epoch 1, step {step}" in err
    assert "a checkpoint was kept" in err and f"sartail run --resume {run}" in err
    assert "Traceback" not in err
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert (last["stage_index"], last["loop"]["epoch"], last["loop"]["step"]) == (2, 0, step)
    assert temp_files(run) == []
    COUNTS["interrupts"].append({"kind": "SIGINT", "stage": "balanced", "step": step})
    Run.resume(run, progress=False).fit_and_test()
    assert_same_as_reference(run, reference)


def test_stop_button_from_another_thread_ends_the_stage_at_the_next_step(tmp_path, reference):
    """The notebooks train in a background thread; their Stop button sets a StopFlag from the UI thread."""
    rng = random.Random(KILL_SEED + 3)
    point = ("residual", 1, rng.randint(1, reference.steps_per_epoch[("residual", 1)] - 1))
    reached, go = threading.Event(), threading.Event()

    class Pause(Callback):
        def on_step(self, step):
            if (step.stage, step.epoch, step.step) == point:
                reached.set()
                go.wait(60)

    button = StopFlag()
    run = Run.create(load_config("three_stage", OVERRIDES), tmp_path / "run", progress=False,
                     data=reference.run.data, callbacks=[button, Pause()])
    caught: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(run.fit, caught))
    worker.start()
    assert reached.wait(TIMEOUT)
    button.set()  # the Stop button
    go.set()
    worker.join(TIMEOUT)
    assert len(caught) == 1 and isinstance(caught[0], StopRequested), caught
    msg = str(caught[0])
    assert f"stage 'residual' stopped at epoch 1, step {point[2]}" in msg and "sartail run --resume" in msg
    last = run.dir.load(run.dir.checkpoints / "last.pt")
    assert (last["stage_index"], last["loop"]["step"]) == (1, point[2])
    COUNTS["interrupts"].append({"kind": "StopFlag from another thread", "stage": "residual", "step": point[2]})
    Run.resume(run.dir.path, progress=False, data=reference.run.data).fit_and_test()
    assert_same_as_reference(run.dir.path, reference)


def _capture(fn, caught):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        caught.append(exc)


# ------------------------------------------------------------------------------ a full disk
class FullDisk:
    """A file whose ``write`` stores ``room`` bytes, then fails as a full disk does."""

    def __init__(self, fh, room: int) -> None:
        self._fh, self.room = fh, room

    def write(self, data):
        if len(data) > self.room:
            self._fh.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@contextlib.contextmanager
def disk_full_at(monkeypatch, name: str, nth: int = 1):
    """Make the ``nth`` write of a file called ``name`` fail half-way with ENOSPC (atomic or appended)."""
    count = [0]
    real_open = atomic.atomic_open

    def hit(path) -> bool:
        if Path(path).name != name:
            return False
        count[0] += 1
        return count[0] == nth

    @contextlib.contextmanager
    def atomic_open(path, mode="wb"):
        with real_open(path, mode) as fh:
            yield FullDisk(fh, 200) if hit(path) else fh

    def open_(path, mode="r", *args, **kwargs):
        fh = open(path, mode, *args, **kwargs)  # noqa: SIM115 - the caller closes it (a `with`)
        return FullDisk(fh, 40) if "a" in mode and hit(path) else fh

    with monkeypatch.context() as m:
        m.setattr(atomic, "atomic_open", atomic_open)
        m.setattr(runs_mod, "open", open_, raising=False)
        yield count


DISK_FULL = [  # (file, which write of it, the stage or phase that writes it)
    ("last.pt", 2, "rough"),
    ("metrics.jsonl", 2, "rough"),
    ("stage-2-residual.pt", 1, "residual"),
    ("timing.jsonl", 1, "balanced"),
    ("results.json", 1, "test"),
    ("predictions.csv", 1, "test"),
]


def test_disk_full_while_writing_each_kind_of_file_is_a_clear_error_and_loses_nothing(tmp_path, reference,
                                                                                   monkeypatch):
    """ENOSPC half-way through every kind of file a run writes: a RunError naming the file, the files
    written before unchanged, no temporary file left, and a resume that ends bit-identical."""
    path = tmp_path / "run"
    Run.create(load_config("three_stage", OVERRIDES), path, progress=False, data=reference.run.data)
    for name, nth, phase in DISK_FULL:
        before = snapshot(path)
        run = Run.resume(path, progress=False, data=reference.run.data)
        with disk_full_at(monkeypatch, name, nth), pytest.raises(RunError) as err:
            run.fit_and_test()
        msg = str(err.value)
        assert f"could not write {path / (('checkpoints/' if name.endswith('.pt') else '') + name)}" in msg, msg
        assert "No space left on device" in msg and f"sartail run --resume {path}" in msg
        assert temp_files(path) == []
        assert_nothing_half_written(path)
        after = snapshot(path)
        for f, data in before.items():  # what was there is still there, unchanged ...
            if f in ("metrics.jsonl", "timing.jsonl", "provenance.json", "checkpoints/last.pt"):
                continue  # ... except the files a run appends to or replaces as it goes
            assert after.get(f) == data, f
        COUNTS["disk_full"].append({"file": name, "nth": nth, "phase": phase, "message": msg.split(". ")[0]})
        # the cut-off run is resumed after each fault (and the last time without one)
    Run.resume(path, progress=False, data=reference.run.data).fit_and_test()
    assert_same_as_reference(path, reference)
    timing = [json.loads(line) for line in (path / "timing.jsonl").read_text().splitlines()]
    assert all("seconds" in t for t in timing)  # the torn timing line was dropped on resume


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_real_write_failure_in_a_subprocess_exits_2_naming_the_checkpoint(tmp_path, reference):
    """A file-size limit (``RLIMIT_FSIZE``) makes the kernel refuse the first checkpoint write."""
    resource = pytest.importorskip("resource")
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("no SIGXFSZ on this platform")
    limit = 60_000  # config, provenance and metrics fit; a checkpoint (~100 kB) does not

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write then raises EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = tmp_path / "run"
    proc = start(["run", "three_stage", "--out", str(run), *CLI_SETTINGS], tmp_path, "p", preexec_fn=limited)
    assert proc.wait() == 2, proc.stderr
    err = proc.stderr
    assert f"sartail: error: could not write {run / 'checkpoints' / 'last.pt'}: File too large" in err, err
    assert "Traceback" not in err and f"sartail run --resume {run}" in err
    assert temp_files(run) == [] and not (run / "checkpoints" / "last.pt").exists()
    assert_nothing_half_written(run)
    COUNTS["disk_full"].append({"file": "last.pt", "nth": 1, "phase": "rough", "message": "EFBIG (real, RLIMIT_FSIZE)"})
    Run.resume(run, progress=False).fit_and_test()
    assert_same_as_reference(run, reference)


def test_disk_full_while_creating_a_run_leaves_no_half_made_folder(tmp_path, monkeypatch):
    cfg = load_config("ce", OVERRIDES)
    with disk_full_at(monkeypatch, "config.yaml"), pytest.raises(RunError, match=r"could not write .*config\.yaml: "
                                                                                  r"No space left on device"):
        runs_mod.RunDir.create(tmp_path / "new", cfg)
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()  # a folder the user made stays, empty
    with disk_full_at(monkeypatch, "config.yaml"), pytest.raises(RunError):
        runs_mod.RunDir.create(tmp_path / "empty", cfg)
    assert list((tmp_path / "empty").iterdir()) == []


def test_disk_full_while_writing_the_decode_cache_keeps_the_old_entry(tmp_path, make_folder_layout, monkeypatch):
    """torch.save itself writing into a full disk (it reports that as a bare RuntimeError, which
    sartail.atomic turns back into the OSError): the load still succeeds, with a warning, the
    previous entry is untouched and no temporary file is left."""
    from sartail.data import load_folder

    root = make_folder_layout(tmp_path / "chips", counts={"a": 3, "b": 3}, size=16)
    cache = tmp_path / "cache"
    first = load_folder(root, size=16, cache=cache, progress=False)
    (entry,) = cache.iterdir()
    old = entry.read_bytes()
    (root / "a" / "0.png").unlink()  # a changed folder: a new entry would replace the old one
    real_open = atomic.atomic_open

    @contextlib.contextmanager
    def full(path, mode="wb"):
        with real_open(path, mode) as fh:
            yield FullDisk(fh, 500)

    monkeypatch.setattr(atomic, "atomic_open", full)
    with pytest.warns(UserWarning, match="could not write the decode cache.*No space left on device"):
        again = load_folder(root, size=16, cache=cache, progress=False)
    assert len(again) == len(first) - 1
    assert [p.name for p in cache.iterdir()] == [entry.name] and entry.read_bytes() == old
    COUNTS["disk_full"].append({"file": "decode cache entry", "nth": 1, "phase": "data", "message": "warning"})


# ------------------------------------------------------------------------------ bad input of runs
def write_png(path: Path, value: int, size: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size), value, np.uint8)).save(path)


def test_single_class_data_is_refused_naming_the_data(tmp_path, capsys):
    root = tmp_path / "one"
    for i in range(6):
        write_png(root / "tank" / f"{i}.png", 10 * i)
    out = tmp_path / "run"
    assert main(["run", "ce", "--data", f"folder:{root}", "--out", str(out), *CLI_SETTINGS]) == 2
    err = capsys.readouterr().err
    assert f"sartail: error: folder:{root}: a single class (('tank',))" in err
    assert not out.exists()  # nothing was written for a run that cannot start


def test_bad_data_with_overwrite_keeps_the_old_run(tmp_path, capsys):
    """--overwrite deletes the old run only once the new run's data have loaded."""
    root = tmp_path / "chips"
    for c in ("a", "b"):
        for i in range(6):
            write_png(root / c / f"{i}.png", 40 * i)
    out = tmp_path / "run"
    good = ["run", "ce", "--data", f"folder:{root}", "--out", str(out), *CLI_SETTINGS, "--set", "data.size=16"]
    assert main(good) == 0
    before = snapshot(out)
    bad = root / "b" / "3.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8)).save(bad)
    bad.write_bytes(bad.read_bytes()[:600])  # a truncated PNG: its header and part of its pixels
    capsys.readouterr()
    assert main([*good, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: unreadable or truncated image" in err
    assert snapshot(out) == before


def test_resume_with_a_checkpoint_of_another_model_is_refused_naming_it(tmp_path, reference, capsys):
    """A stage checkpoint copied in from a run of another width (or class count) stops the resume."""
    path = tmp_path / "run"
    Run.create(load_config("three_stage", {**OVERRIDES, "model.width": 6}), path, progress=False,
               data=reference.run.data)
    src = reference.run.dir.stage_checkpoint(0, "rough")
    (path / "checkpoints" / src.name).write_bytes(src.read_bytes())
    assert main(resume_args(path)) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {path / 'checkpoints' / src.name} was written for another model or data" in err
    assert "width: checkpoint 4, run 6" in err
    ckpt = torch.load(src, weights_only=True)
    ckpt["meta"]["classes"] = ckpt["meta"]["classes"][:9]
    torch.save(ckpt, path / "checkpoints" / src.name)
    (path / "config.yaml").write_text((reference.run.dir.path / "config.yaml").read_text())
    assert main(resume_args(path)) == 2
    assert "classes: checkpoint [" in capsys.readouterr().err


def test_stale_last_checkpoint_of_a_finished_run_is_removed_on_resume(tmp_path, reference):
    """A kill between the last stage's checkpoint and the removal of last.pt leaves it behind."""
    path = tmp_path / "run"
    src = reference.run.dir.path
    for p in src.rglob("*"):
        if p.is_file():
            (path / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (path / p.relative_to(src)).write_bytes(p.read_bytes())
    last = path / "checkpoints" / "last.pt"
    last.write_bytes((path / "checkpoints" / "stage-4-classifier.pt").read_bytes())
    (path / "checkpoints" / ".last.pt.abcd1234.tmp").write_bytes(b"half")
    (path / "checkpoints" / "notes.tmp").write_text("a user's file")  # not ours: kept
    Run.resume(path, progress=False, data=reference.run.data).fit_and_test()
    assert not last.exists() and not (path / "checkpoints" / ".last.pt.abcd1234.tmp").exists()
    assert (path / "checkpoints" / "notes.tmp").read_text() == "a user's file"
    assert (path / "metrics.jsonl").read_text() == reference.metrics


def test_different_seeds_draw_different_long_tailed_subsets_of_real_folders(tmp_path):
    root = tmp_path / "chips"
    for c, name in enumerate(("a", "b", "c", "d")):
        for i in range(30):
            write_png(root / name / f"{i:02d}.png", (7 * i + 50 * c) % 256)
    base = {"data.train": f"folder:{root}", "data.size": 16, "data.profile": "exp", "data.ratio": 5}
    d0, d0b, d1 = (prepare_data(load_config("ce", {**base, "seed": s}), progress=False) for s in (0, 0, 1))
    assert d0.train.chip_ids == d0b.train.chip_ids  # the same seed, the same subset
    assert d0.train.class_counts().tolist() == d1.train.class_counts().tolist()  # the same profile ...
    assert set(d0.train.chip_ids) != set(d1.train.chip_ids)  # ... drawn differently
    assert d0.test.chip_ids == d1.test.chip_ids  # one test fold for every seed (split_seed)
    assert not set(d0.test.chip_ids) & set(d0.train.chip_ids + d0.val.chip_ids)
