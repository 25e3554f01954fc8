"""Debian's Chromium for the real-browser tests, started the one way this machine allows."""
from __future__ import annotations

from pathlib import Path
from typing import Any

#: Debian's Chromium (no browser download is possible here: Playwright drives this one).
CHROMIUM = Path("/usr/bin/chromium")

#: No sandbox (root), no GPU, and none of Chromium's background connections (the network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def launch_chromium(pw: Any) -> Any:
    """A headless Chromium browser from a running ``sync_playwright()``."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
