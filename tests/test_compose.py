import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose_command() -> list[str]:
    """Compose v2 (the docker CLI plugin) where installed, else Compose v1."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (make test adds it)")


def _env(**values: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment.update(values)
    return environment


def test_compose_file_is_valid_and_runs_every_service() -> None:
    compose = _compose_command()
    # The compose file has no fallback key: it is run with SECRET_KEY set.
    key = _env(SECRET_KEY=secrets.token_urlsafe(50))
    quiet = subprocess.run(
        [*compose, "config", "-q"], cwd=ROOT, capture_output=True, text=True, env=key
    )
    assert quiet.returncode == 0, quiet.stderr

    rendered = subprocess.run(
        [*compose, "config"], cwd=ROOT, capture_output=True, text=True, check=True, env=key
    ).stdout
    services = yaml.safe_load(rendered)["services"]
    assert set(services) == {"db", "redis", "osrm", "web", "worker", "beat"}
    assert services["osrm"]["image"].startswith("osrm/osrm-backend")
    assert services["web"]["environment"]["OSRM_URL"] == "http://osrm:5000"
    assert services["db"]["image"].startswith("postgis/postgis")
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgis://")


def test_compose_refuses_to_run_without_a_secret_key() -> None:
    refused = subprocess.run(
        [*_compose_command(), "config", "-q"], cwd=ROOT, capture_output=True, text=True, env=_env()
    )
    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr
