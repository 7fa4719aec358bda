import pytest
from django.core.management import call_command
from django.test import Client


def test_schema_generates_without_warnings(tmp_path) -> None:
    # --fail-on-warn turns every drf-spectacular warning into a failure.
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    assert "openapi: 3" in out.read_text()


@pytest.mark.django_db
def test_schema_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/healthz" in schema.json()["paths"]
    assert docs.status_code == 200
    # Swagger UI comes from the application's own static files, not a CDN.
    assert b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content
    assert b"unpkg.com" not in docs.content


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
