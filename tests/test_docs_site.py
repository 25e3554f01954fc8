"""The built documentation site in a real browser: Debian's Chromium driven by Playwright.

`make test` builds the site first (`make docs-build`: ``mkdocs build --strict`` into ``site/``, every
notebook executed at its shipped settings); this test serves that folder over HTTP and opens

- the home page: the title, the synthetic-data warning and the navigation to every section;
- the rendered notebook 04: its title, code cells, and the outputs of its execution (tables and
  figures), with no error output;
- the command-line reference generated from the parser.

Screenshots land in ``test-artifacts/docs_home.png`` and ``test-artifacts/docs_notebook_04.png``.
Where ``site/`` has not been built, the test builds it (several minutes: the notebooks run). Skipped,
saying why, only where ``/usr/bin/chromium``, Playwright or MkDocs is missing.
"""
from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM, launch_chromium

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "site"
ARTIFACTS = REPO / "test-artifacts"
NB04 = "notebooks/04_compare_recipes/"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]


def _requirements() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`make browser`) to run the real-browser test")
    for module, extra in (("playwright.sync_api", "dev"), ("mkdocs", "docs"), ("mkdocs_jupyter", "docs")):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module.split('.')[0]} is not installed (it is in the {extra} extra)")


def _built(site: Path) -> bool:
    return (site / "index.html").exists() and (site / NB04 / "index.html").exists()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``site/`` from ``make docs-build``, or a strict build made here."""
    _requirements()
    if _built(SITE):
        return SITE
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-4000:]}"
    assert _built(out)
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # the stdlib's name
        pass


def _heading(text: str) -> str:
    return text.replace("\u00b6", "").strip()  # the permalink mark after every heading


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The site served over HTTP on 127.0.0.1 (directory URLs need a server: file:// has no index.html)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
        finally:
            browser.close()


def test_home_page_shows_the_kit_the_warning_and_every_section(page: Any, base_url: str):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(base_url, wait_until="networkidle")
    assert response is not None and response.status == 200
    assert page.title().startswith("sartail")
    assert _heading(page.locator("article h1").first.inner_text()) == "sartail"
    assert "The embedded data is synthetic" in page.locator("article .admonition.warning").inner_text()
    nav = page.locator("nav.md-nav--primary").inner_text()
    for section in ("Getting started", "Reading the results", "The three stages", "Recipes and the choices behind them",
                    "Data", "Figures for a paper", "Reproducibility", "Benchmarks", "Notebooks", "Command line",
                    "Python API"):
        assert section in nav, f"navigation lacks {section!r}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs_home.png"), full_page=True)
    assert not errors, errors


def test_notebook_04_is_rendered_with_the_outputs_of_its_execution(page: Any, base_url: str):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(base_url + NB04, wait_until="networkidle")
    assert response is not None and response.status == 200
    assert page.locator("article h1").first.inner_text().startswith("04")
    assert page.locator(".jp-Notebook .jp-CodeCell").count() >= 5
    outputs = page.locator(".jp-Notebook .jp-OutputArea-output")
    assert outputs.count() > 0, "notebook 04 has no outputs: the site was built without executing the notebooks"
    figures = page.locator(".jp-Notebook .jp-OutputArea-output img")
    assert figures.count() >= 1, "notebook 04's figures are missing"
    assert figures.first.evaluate("img => img.complete && img.naturalWidth > 100")
    stderr = page.locator(".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert stderr.count() == 0, f"notebook 04 wrote to stderr: {stderr.all_inner_texts()[:2]}"
    text = page.locator(".jp-Notebook").inner_text()
    assert "ce@equal" in text and "Traceback" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs_notebook_04.png"), full_page=True)
    assert not errors, errors


def test_cli_reference_is_generated_from_the_parser(page: Any, base_url: str):
    from sartail.cli import build_parser

    page.goto(base_url + "reference/cli/", wait_until="networkidle")
    headings = [_heading(h) for h in page.locator("article h2").all_inner_texts()]
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name in commands:
        assert f"sartail {name}" in headings, f"the CLI reference lacks `sartail {name}`"
    assert "--seeds" in page.locator("article").inner_text()
