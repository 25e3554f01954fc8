"""The real-browser round trip: JupyterLab, headless Chromium, notebook 02 and its class-removal picker.

The test starts JupyterLab on 127.0.0.1 in a temporary folder holding a copy of
``02_stage2_residual.ipynb``, opens it in Debian's Chromium driven by Playwright, runs all
cells (tiny settings from ``SARTAIL_NB_*`` variables, which the server passes on to its
kernel), finds the rendered picker, ticks one more class and waits for the residual-set
summary on the page to change. Screenshots go to ``test-artifacts/``.

It is skipped, saying why, only where ``/usr/bin/chromium`` or Playwright is missing
(``make browser`` installs Chromium; Playwright is in the dev extra).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_stage2_residual.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
TINY = {"SCALE": "0.002", "TEST_PER_CLASS": "5", "WIDTH": "4", "ROUGH_EPOCHS": "1", "RESIDUAL_EPOCHS": "1"}

pytestmark = [pytest.mark.browser, pytest.mark.timeout(540)]


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


@pytest.fixture
def lab(tmp_path: Path):
    """A JupyterLab server on 127.0.0.1 serving ``tmp_path/work``; yields (base url, work folder)."""
    _requirements()
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    home = tmp_path / "jupyter"
    _settings(home / "settings")
    env = dict(os.environ)
    env.update({f"SARTAIL_NB_{k}": v for k, v in TINY.items()})
    env.update({
        "SARTAIL_NB_RUN_DIR": str(tmp_path / "runs"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    port = _free_port()
    log = (tmp_path / "jupyterlab.log").open("wb")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={work}",
           "--LabApp.news_url=", "--ServerApp.port_retries=0"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{(tmp_path / 'jupyterlab.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer on {base}/api within 90 s")
            time.sleep(0.5)
        yield base, work
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


def _prompts(page) -> list[str]:
    return [t.strip() for t in page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def _run_all(page, tries: int = 3) -> None:
    """Run > Run All Cells, again if the notebook was not ready to take it (no cell queued)."""
    for _ in range(tries):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text="Run All Cells").first
        item.click(timeout=30_000)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(ch in p for p in _prompts(page) for ch in "*0123456789"):
                return
            time.sleep(0.5)
        page.keyboard.press("Escape")
    raise AssertionError("Run All Cells did not start the notebook")


def _wait_all_run(page, timeout: float) -> list[str]:
    """Wait until every code cell has run (a number in its prompt) or one failed; returns the prompts."""
    deadline = time.monotonic() + timeout
    seen_busy = False
    while time.monotonic() < deadline:
        prompts = _prompts(page)
        busy = any("*" in p for p in prompts)
        seen_busy |= busy
        if prompts and all(any(ch.isdigit() for ch in p) for p in prompts):
            return prompts
        if seen_busy and not busy:  # run-all queues every cell ([*]); one left unnumbered means a cell failed
            time.sleep(2.0)
            if not any("*" in p for p in _prompts(page)):
                errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                raise AssertionError(f"a cell failed; prompts {_prompts(page)}; stderr: {errors.all_inner_texts()[-2:]}")
        time.sleep(1.0)
    raise AssertionError(f"the notebook did not finish within {timeout:.0f} s; prompts: {_prompts(page)}")


def test_picker_in_a_real_browser(lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, work = lab
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--disable-sync", "--no-first-run",
                                           "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset", timeout=120_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
            # the kernel named in the notebook starts without a "Select Kernel" dialog
            expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=5_000)
            expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible(timeout=120_000)
            _run_all(page)
            prompts = _wait_all_run(page, timeout=360)
            assert len(prompts) >= 8, prompts

            picker = page.locator(".sartail-picker").first
            picker.scroll_into_view_if_needed()
            summary = page.locator(".sartail-residual-summary").first
            expect(summary).to_contain_text("Residual set: 9 classes", timeout=30_000)
            before = summary.inner_text()
            expect(page.locator(".sartail-class-checkbox")).to_have_count(10)
            page.screenshot(path=str(ARTIFACTS / "browser_02_picker_before.png"))

            suv = page.locator(".sartail-class-checkbox", has_text="1 · SUV").locator("input[type=checkbox]")
            expect(suv).not_to_be_checked()
            suv.check()
            expect(summary).to_contain_text("Residual set: 8 classes", timeout=60_000)
            expect(summary).to_contain_text("SUV")
            after = summary.inner_text()
            assert after != before
            # the stage panel below notices the new choice
            status = page.locator(".sartail-stage-status").first
            expect(status).to_contain_text("Settings changed", timeout=30_000)
            picker.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser_02_stage2_residual.png"))
            picker.screenshot(path=str(ARTIFACTS / "browser_02_picker.png"))

            # Run trains stage 2 again in the background: the kernel stays idle, the page follows
            panel = page.locator(".sartail-stage-panel").first
            panel.locator("button", has_text="Run").click()
            expect(status).to_contain_text("Stage residual done", timeout=180_000)
            expect(page.locator(".jp-StatusBar-TextItem", has_text="Idle").first).to_be_visible()
            bar = panel.locator(".progress-bar").first
            assert bar.evaluate("e => e.style.width") == "100%"
            panel.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser_02_stage_panel.png"))
        finally:
            browser.close()
    # the kernel saw the tiny settings from the server's environment and trained into the test's run folder
    config = (work.parent / "runs" / "three_stage" / "config.yaml").read_text()
    assert "width: 4" in config
    print(f"browser round trip: {time.monotonic() - t0:.0f} s")
