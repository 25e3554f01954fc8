"""Every notebook in a real JupyterLab: Debian's Chromium driven by Playwright.

One JupyterLab server (127.0.0.1, a temporary folder) and one headless Chromium serve the
module; each test opens one notebook in a fresh page, runs all cells with tiny settings
(``SARTAIL_NB_*`` variables, which the server passes on to its kernels), fails on any error
output or widget that does not render, then drives the notebook's main widget and checks
what the kernel did:

- 00: the long-tail builder: another profile redraws the summary and the histogram;
- 01: the stage panel: more epochs, **Run**, the stage trains again, progress and result shown;
- 02: the class-removal picker: one more class ticked, the residual summary and the panel follow;
- 03: the re-optimiser chooser: tau-norm fixes the classifier panel's epochs at 0, **Run** applies it;
- 04: the recipe chooser: one recipe unticked, the comparison re-run shows one row fewer (the
  equal-budget ``ce@equal`` row stays);
- 05: the saliency figure (Grad-CAM and occlusion) renders under its heading, and so do the
  clutter check and the error gallery;
- 06: the removal sweep's table and figure render.

Every notebook lives in its own folder (its runs in ``<folder>/runs``), so each test stands
alone and in any order; the kernel is shut down at the end of its test. One screenshot per
notebook (``test-artifacts/browser_<notebook>.png``) and the saved, executed notebook
(``test-artifacts/browser/<notebook>.ipynb``) are kept.

Skipped, saying why, only where ``/usr/bin/chromium``, Playwright or JupyterLab is missing
(``make browser`` installs Chromium; Playwright is in the dev extra).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM, launch_chromium

REPO = Path(__file__).resolve().parents[1]
NAMES = ["00_data_tour", "01_stage1_rough", "02_stage2_residual", "03_stage3_balanced", "04_compare_recipes",
         "05_what_the_model_sees", "06_removal_sweep"]
ARTIFACTS = REPO / "test-artifacts"
TINY = {"SCALE": "0.002", "TEST_PER_CLASS": "5", "WIDTH": "4", "ROUGH_EPOCHS": "1", "RESIDUAL_EPOCHS": "1",
        "BALANCED_EPOCHS": "1", "CLASSIFIER_EPOCHS": "1", "POOL_PER_CLASS": "20", "GALLERY_PER_CLASS": "3",
        "SEEDS": "[0]", "RECIPES": "[ce, crt, lws]", "FEATURE_CHIPS": "40", "SALIENCY_CHIPS": "2",
        "CLUTTER_CHIPS": "10", "TOPS": "[]", "SHARES": "[0.5]"}
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
WIDGET = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.widget-view+json']"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _requirements() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`make browser`) to run the real-browser test")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev extra: pip install -e '.[dev]')")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("jupyterlab is not installed (it is in the notebooks extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """User settings for a quiet, fully rendered JupyterLab (no news prompt, no cell windowing)."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                           "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, value in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@dataclass
class Lab:
    base: str  # http://127.0.0.1:PORT
    work: Path  # the server's root: one folder per notebook

    def folder(self, name: str) -> Path:
        return self.work / name[:2]

    def url(self, name: str) -> str:
        return f"{self.base}/lab/tree/{name[:2]}/{name}.ipynb?reset"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server on 127.0.0.1 whose root holds ``NN/<notebook>.ipynb`` for every notebook."""
    _requirements()
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "work"
    for name in NAMES:
        (work / name[:2]).mkdir(parents=True)
        shutil.copy(REPO / "notebooks" / f"{name}.ipynb", work / name[:2] / f"{name}.ipynb")
    home = tmp / "jupyter"
    _settings(home / "settings")
    env = dict(os.environ)
    env.pop("SARTAIL_NB_RUN_DIR", None)  # each notebook's runs stay in its own folder
    env.update({f"SARTAIL_NB_{k}": v for k, v in TINY.items()})
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    port = _free_port()
    log_path = tmp / "jupyterlab.log"
    log = log_path.open("wb")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={work}",
           "--LabApp.news_url=", "--ServerApp.port_retries=0", "--ServerApp.disable_check_xsrf=True"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer on {base}/api within 90 s")
            time.sleep(0.5)
        yield Lab(base, work)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def chromium(lab: Lab) -> Iterator[Any]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, lab: Lab) -> Iterator[Any]:
    """A fresh page; afterwards every kernel of the server is shut down (nothing left training)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()
        _shut_down_kernels(lab)


def _shut_down_kernels(lab: Lab) -> None:
    with urllib.request.urlopen(f"{lab.base}/api/sessions", timeout=10) as r:
        sessions = json.load(r)
    for s in sessions:
        req = urllib.request.Request(f"{lab.base}/api/sessions/{s['id']}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()


# ------------------------------------------------------------------------------ driving JupyterLab
def _prompts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def _menu(page: Any, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                 has_text=re.compile(rf"^{re.escape(item)}$")).first.click(timeout=30_000)


def _run_all(page: Any, tries: int = 3) -> None:
    """Run > Run All Cells, again if the notebook was not ready to take it (no cell queued)."""
    for _ in range(tries):
        _menu(page, "Run", "Run All Cells")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(ch in p for p in _prompts(page) for ch in "*0123456789"):
                return
            time.sleep(0.5)
        page.keyboard.press("Escape")
    raise AssertionError("Run All Cells did not start the notebook")


def _wait_all_run(page: Any, timeout: float, after: dict[int, str] | None = None) -> list[str]:
    """Wait until every code cell has run (a number in its prompt; other than ``after``'s) or one failed."""
    deadline = time.monotonic() + timeout
    seen_busy = False
    while time.monotonic() < deadline:
        prompts = _prompts(page)
        busy = any("*" in p for p in prompts)
        seen_busy |= busy
        fresh = after is None or all(prompts[i] != p for i, p in after.items() if i < len(prompts))
        if prompts and fresh and all(any(ch.isdigit() for ch in p) for p in prompts):
            return prompts
        if seen_busy and not busy:  # run-all queues every cell ([*]); one left unnumbered means a cell failed
            time.sleep(2.0)
            if not any("*" in p for p in _prompts(page)):
                errors = page.locator(STDERR).all_inner_texts()
                raise AssertionError(f"a cell failed; prompts {_prompts(page)}; stderr: {errors[-2:]}")
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish within {timeout:.0f} s; prompts: {_prompts(page)}")


def _open_and_run(page: Any, lab: Lab, name: str, timeout: float = 200) -> list[str]:
    """Open ``name``, run all cells, check every widget rendered and no cell wrote an error."""
    from playwright.sync_api import expect

    page.goto(lab.url(name), timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    # the kernel named in the notebook starts without a "Select Kernel" dialog
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=5_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(timeout=120_000)
    _run_all(page)
    prompts = _wait_all_run(page, timeout=timeout)
    _check_page(page)
    return prompts


def _check_page(page: Any) -> None:
    """No traceback on the page, every widget rendered, no widget showing an error."""
    from playwright.sync_api import expect

    for text in page.locator(STDERR).all_inner_texts():
        assert "Traceback" not in text and "Error" not in text, f"error output: {text[-2000:]}"
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    expect(page.get_by_text("Loading widget...")).to_have_count(0, timeout=30_000)
    outputs = page.locator(WIDGET)
    for i in range(outputs.count()):
        expect(outputs.nth(i).locator(".jupyter-widgets").first).to_be_attached(timeout=10_000)
    errors = page.locator(".sartail-error")
    assert errors.count() == 0, f"a widget shows an error: {errors.all_inner_texts()}"


def _cell(page: Any, code: str) -> Any:
    """The code cell whose source contains ``code``."""
    return page.locator(".jp-Notebook .jp-CodeCell", has=page.locator(".jp-InputArea", has_text=code)).first


def _finish(page: Any, lab: Lab, name: str, shown: Any) -> dict[str, Any]:
    """Screenshot with ``shown`` in view; save the notebook and check its outputs on disk; returns it."""
    ARTIFACTS.mkdir(exist_ok=True)
    shown.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"browser_{name}.png"))
    path = lab.folder(name) / f"{name}.ipynb"
    before = path.stat().st_mtime_ns
    page.locator(".jp-Notebook .jp-InputPrompt").first.click()  # command mode, the notebook focused
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, f"{path} was not saved"
        time.sleep(0.3)
    time.sleep(0.5)
    book = json.loads(path.read_text())
    (ARTIFACTS / "browser").mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / "browser" / path.name)
    code = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code), [c["execution_count"] for c in code]
    for c in code:
        for o in c["outputs"]:
            assert o["output_type"] != "error", f"{name}: {o['ename']}: {o['evalue']}\n{c['source']}"
            if o["output_type"] == "stream" and o["name"] == "stderr":
                text = "".join(o["text"])
                assert "Traceback" not in text and "Error" not in text, f"{name}: {text}"
    return book


def _metrics(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _stage_config(run: Path, name: str) -> dict[str, Any]:
    import yaml

    stages = yaml.safe_load((run / "config.yaml").read_text())["stages"]
    return next(s for s in stages if s["name"] == name)


_WATCH = """e => { window.__seen = []; const note = () => window.__seen.push([e.style.width || '',
    e.closest('.sartail-stage-panel').querySelector('.sartail-stage-status').innerText]);
    new MutationObserver(note).observe(e.closest('.sartail-stage-panel'),
                                       {attributes: true, childList: true, subtree: true, characterData: true}); }"""


# ------------------------------------------------------------------------------ the notebooks
def test_00_data_tour_long_tail_builder(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    prompts = _open_and_run(page, lab, "00_data_tour")
    assert len(prompts) >= 8, prompts
    assert page.locator(".jp-OutputArea-output img").count() >= 3  # histogram, gallery, pixel statistics
    builder = page.locator(".sartail-longtail").first
    summary = builder.locator(".sartail-longtail-summary")
    expect(summary).to_contain_text("exponential profile, ratio asked 100")
    histogram = builder.locator("img").first
    before = histogram.get_attribute("src")
    assert before and before.startswith(("blob:", "data:")), before
    builder.locator("select").first.select_option(label="step (half the classes)")
    expect(summary).to_contain_text("step (half the classes) profile, ratio asked 100", timeout=60_000)
    expect(histogram).not_to_have_attribute("src", before, timeout=30_000)
    _check_page(page)
    _finish(page, lab, "00_data_tour", builder)
    print(f"browser 00_data_tour: {time.monotonic() - t0:.0f} s")


def test_01_stage_panel_trains_a_stage(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _open_and_run(page, lab, "01_stage1_rough")
    run = lab.folder("01") / "runs" / "three_stage"
    assert [r["epoch"] for r in _metrics(run) if r.get("stage") == "rough" and "train_loss" in r] == [1]
    panel = page.locator(".sartail-stage-panel").first
    status = panel.locator(".sartail-stage-status")
    expect(status).to_contain_text("Stage rough done", timeout=30_000)  # trained by panel.train() in Run all
    epochs = panel.locator(".sartail-stage-epochs input")
    epochs.fill("2")
    epochs.press("Enter")
    expect(status).to_contain_text("Settings changed: Run trains stage rough again", timeout=30_000)
    panel.locator(".sartail-stage-progress .progress-bar").first.evaluate(_WATCH)  # what the page shows while it trains
    panel.locator(".sartail-run").click()
    expect(status).to_contain_text("Stage rough done", timeout=180_000)
    seen = page.evaluate("window.__seen")
    widths = {float(w.rstrip("%")) for w, _ in seen if w.endswith("%")}
    assert any(0 < w < 100 for w in widths), widths  # the bar moved part way ...
    assert any(re.search(r"epoch [12]/2, step", st) for _, st in seen), [st for _, st in seen]  # ... and live status
    expect(status).to_contain_text("validation balanced accuracy")
    assert panel.locator(".sartail-stage-progress .progress-bar").first.evaluate("e => e.style.width") == "100%"
    expect(panel.locator(".sartail-stop")).to_be_disabled()
    assert panel.locator(".sartail-stage-plot").first.get_attribute("src")  # the live plot
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible()
    _check_page(page)
    # the kernel trained the stage again, with the panel's two epochs and the tiny settings of the server
    assert [r["epoch"] for r in _metrics(run) if r.get("stage") == "rough" and "train_loss" in r] == [1, 2]
    assert "width: 4" in (run / "config.yaml").read_text() and _stage_config(run, "rough")["epochs"] == 2
    _finish(page, lab, "01_stage1_rough", panel)
    print(f"browser 01_stage1_rough: {time.monotonic() - t0:.0f} s")


def test_02_class_removal_picker(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    prompts = _open_and_run(page, lab, "02_stage2_residual")
    assert len(prompts) >= 8, prompts
    picker = page.locator(".sartail-picker").first
    picker.scroll_into_view_if_needed()
    summary = page.locator(".sartail-residual-summary").first
    expect(summary).to_contain_text("Residual set: 9 classes", timeout=30_000)
    before = summary.inner_text()
    expect(page.locator(".sartail-class-checkbox")).to_have_count(10)
    suv = page.locator(".sartail-class-checkbox", has_text="1 · SUV").locator("input[type=checkbox]")
    expect(suv).not_to_be_checked()
    suv.check()
    expect(summary).to_contain_text("Residual set: 8 classes", timeout=60_000)
    expect(summary).to_contain_text("SUV")
    assert summary.inner_text() != before
    # the stage panel below notices the new choice; Run trains stage 2 again in the background
    panel = page.locator(".sartail-stage-panel").first
    status = panel.locator(".sartail-stage-status")
    expect(status).to_contain_text("Settings changed", timeout=30_000)
    panel.locator(".sartail-run").click()
    expect(status).to_contain_text("Stage residual done", timeout=180_000)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible()
    assert panel.locator(".sartail-stage-progress .progress-bar").first.evaluate("e => e.style.width") == "100%"
    _check_page(page)
    run = lab.folder("02") / "runs" / "three_stage"
    assert "width: 4" in (run / "config.yaml").read_text() and _stage_config(run, "residual")["remove"] == [0, 1]
    _finish(page, lab, "02_stage2_residual", picker)
    print(f"browser 02_stage2_residual: {time.monotonic() - t0:.0f} s")


def test_03_reoptimiser_chooser(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _open_and_run(page, lab, "03_stage3_balanced")
    run = lab.folder("03") / "runs" / "three_stage"
    assert (run / "results.json").exists()
    chooser = page.locator(".sartail-recipe-chooser").first
    expect(chooser.locator(".sartail-info")).to_contain_text("cRT")
    panel = page.locator(".sartail-stage-panel", has_text="Stage 4 of 4: classifier").first
    status = panel.locator(".sartail-stage-status")
    expect(status).to_contain_text("Stage classifier done", timeout=30_000)
    epochs = panel.locator(".sartail-stage-epochs input")
    expect(epochs).to_be_enabled()
    chooser.locator("button", has_text="tau-norm").click()
    expect(chooser.locator(".sartail-info")).to_contain_text("tau-norm", timeout=30_000)
    expect(epochs).to_be_disabled(timeout=30_000)  # tau-norm trains nothing
    expect(status).to_contain_text("Settings changed: Run trains stage classifier again", timeout=30_000)
    panel.locator(".sartail-run").click()
    expect(status).to_contain_text("Stage classifier done", timeout=180_000)
    _check_page(page)
    assert _stage_config(run, "classifier")["tau_grid"] and _stage_config(run, "classifier")["epochs"] == 0
    assert [r["tau"] for r in _metrics(run) if r.get("stage") == "classifier" and "tau" in r]  # tau was chosen
    _finish(page, lab, "03_stage3_balanced", chooser)
    print(f"browser 03_stage3_balanced: {time.monotonic() - t0:.0f} s")


def test_04_recipe_chooser(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    prompts = _open_and_run(page, lab, "04_compare_recipes", timeout=240)
    chooser = page.locator(".sartail-recipe-chooser").first
    expect(chooser.locator(".sartail-info")).to_contain_text("3 recipe(s): ce, crt, lws")
    table = _cell(page, "comparison.table()").locator(".jp-OutputArea-output table tbody tr")
    expect(table).to_have_count(4)  # the three recipes and the equal-budget control
    assert [t.strip() for t in table.locator("th").all_inner_texts()] == ["ce", "crt", "lws", "ce@equal"]
    lws = chooser.locator(".sartail-recipe-lws input[type=checkbox]")
    lws.uncheck()
    expect(chooser.locator(".sartail-info")).to_contain_text("2 recipe(s): ce, crt", timeout=30_000)
    # the comparison again, with the chooser's recipes: finished runs are read back, nothing is trained
    compare = _cell(page, "nb.compare_recipes(")
    compare.locator(".jp-InputPrompt").click()
    index = next(i for i, c in enumerate(page.locator(".jp-Notebook .jp-CodeCell").all())
                 if "nb.compare_recipes(" in c.locator(".jp-InputArea").inner_text())
    _menu(page, "Run", "Run Selected Cell and All Below")
    _wait_all_run(page, timeout=120, after={i: p for i, p in enumerate(prompts) if i >= index})
    expect(table).to_have_count(3)
    assert [t.strip() for t in table.locator("th").all_inner_texts()] == ["ce", "crt", "ce@equal"]
    assert "found in" in compare.locator(".jp-OutputArea").inner_text()
    _check_page(page)
    _finish(page, lab, "04_compare_recipes", chooser)
    print(f"browser 04_compare_recipes: {time.monotonic() - t0:.0f} s")


def _rendered_images(cell: Any) -> list[tuple[int, int]]:
    """(naturalWidth, naturalHeight) of every image in a cell's outputs, once each has loaded."""
    imgs = cell.locator(".jp-OutputArea-output img")
    for i in range(imgs.count()):
        imgs.nth(i).evaluate("e => e.complete || new Promise(r => { e.onload = r; e.onerror = r; })")
    return [tuple(imgs.nth(i).evaluate("e => [e.naturalWidth, e.naturalHeight]")) for i in range(imgs.count())]


def test_05_saliency_figure_renders(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _open_and_run(page, lab, "05_what_the_model_sees")
    cell = _cell(page, "insight.saliency_report(")
    expect(cell.locator(".jp-OutputArea-output").first).to_contain_text("Saliency maps: Grad-CAM and occlusion")
    sizes = _rendered_images(cell)
    assert len(sizes) == 1 and sizes[0][0] > 400 and sizes[0][1] > 200, sizes  # the figure, drawn at its size
    for code in ("insight.clutter_report(", "insight.error_gallery("):
        assert [s for s in _rendered_images(_cell(page, code)) if s[0] > 200], code
    expect(_cell(page, "insight.clutter_report(").locator(".jp-OutputArea-output").first).to_contain_text("clutter")
    _check_page(page)
    book = _finish(page, lab, "05_what_the_model_sees", cell)
    outputs = next(c["outputs"] for c in book["cells"] if "insight.saliency_report(" in "".join(c["source"]))
    assert [o["output_type"] for o in outputs][:1] == ["stream"] and any("image/png" in o.get("data", {}) for o in outputs)
    print(f"browser 05_what_the_model_sees: {time.monotonic() - t0:.0f} s")


def test_06_removal_sweep_renders(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _open_and_run(page, lab, "06_removal_sweep")
    sweep = _cell(page, "nb.removal_sweep(")
    expect(sweep.locator(".jp-OutputArea-output").first).to_contain_text("removed sets x 1 seed(s)")
    rows = _cell(page, "nb.removal_table(").locator(".jp-OutputArea-output table tbody tr")
    expect(rows).to_have_count(2)  # none and {0} (= the classes above 50 %)
    figure = _cell(page, "plots.removal_figure(")
    assert [s for s in _rendered_images(figure) if s[0] > 400], "the removal figure did not render"
    _check_page(page)
    _finish(page, lab, "06_removal_sweep", figure)
    assert sorted(p.name for p in (lab.folder("06") / "runs" / "removal").iterdir()) == ["none", "remove-0"]
    print(f"browser 06_removal_sweep: {time.monotonic() - t0:.0f} s")
