"""Debian's chromium for the inside page's measurements, screenshots and tests (driven through Playwright, which
downloads no browser here)."""

from __future__ import annotations

import shutil

# Headless chromium as root on a closed network: without the background-networking flags it keeps reaching out.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str | None:
    """Debian's chromium, or None when this machine has none."""
    return next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
