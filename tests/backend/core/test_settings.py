import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

# A key as an operator would generate one (the production settings refuse weak ones).
STRONG_KEY = secrets.token_urlsafe(64)

ROOT = Path(__file__).resolve().parents[3]


def _load_settings(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    ignored = {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            "print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "SECRET_KEY"), ({"SECRET_KEY": STRONG_KEY}, "ALLOWED_HOSTS")],
)
def test_prod_refuses_to_start_without_secret_key_or_hosts(env: dict[str, str], missing: str):
    result = _load_settings("backend.config.settings.prod", **env)

    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_prod_starts_with_debug_off_when_configured() -> None:
    result = _load_settings(
        "backend.config.settings.prod",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.com",
        DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    # DEBUG=true in the environment cannot switch debugging on in production.
    assert result.stdout.split()[0] == "False"


def test_debug_is_off_unless_dev() -> None:
    base = _load_settings("backend.config.settings.base", SECRET_KEY="k" * 50)
    dev = _load_settings("backend.config.settings.dev")

    assert base.stdout.split()[:1] == ["False"], base.stderr
    assert dev.stdout.split()[:1] == ["True"], dev.stderr
