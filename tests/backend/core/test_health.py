import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_healthz_reports_every_component_ok(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "postgis", "migrations", "redis", "roads"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["postgis"]["version"].startswith("3.")
    assert body["checks"]["migrations"]["pending"] == 0


def _healthz_in_subprocess(**env_overrides: str) -> tuple[int, dict]:
    """Ask /healthz from a fresh process whose environment points at a service that is down."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    from tests.workers import worker_database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.test",
        "DATABASE_URL": worker_database_url(),  # the migrated test database
        **env_overrides,
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return result["status"], result["body"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_down() -> None:
    status, body = _healthz_in_subprocess(
        DATABASE_URL=f"postgis://parcels@127.0.0.1:{_closed_port()}/parcels"
    )

    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "error"
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert body["checks"]["redis"]["status"] == "ok"
    assert "Traceback" not in json.dumps(body)


@pytest.mark.django_db
def test_healthz_names_redis_when_it_is_down() -> None:
    status, body = _healthz_in_subprocess(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")

    assert status == 503
    assert body["checks"]["redis"]["status"] == "error"
    assert "ConnectionError" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
