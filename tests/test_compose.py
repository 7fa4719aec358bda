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


def test_compose_file_is_valid_and_runs_every_service() -> None:
    compose = _compose_command()
    quiet = subprocess.run([*compose, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr

    rendered = subprocess.run(
        [*compose, "config"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    services = yaml.safe_load(rendered)["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgis/postgis")
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgis://")
