"""Helpers of the Chromium tests: Debian's chromium driven by Playwright, no network but the
test server, screenshots to artifacts/screenshots/."""

from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# WebGL 2 (the base map) runs on SwiftShader, Chromium's own software renderer, with these.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"


def shot(tab: Any, name: str) -> None:
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(tab: Any, base_url: str, email: str) -> None:
    tab.goto(f"{base_url}/manager/login/")
    tab.fill("#id_username", email)
    tab.fill("#id_password", PASSWORD)
    tab.click("#login-submit")
    tab.wait_for_load_state()
