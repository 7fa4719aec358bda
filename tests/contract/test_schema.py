"""The served schema holds what generated clients rely on (backend/core/schema.py): it is valid
OpenAPI, every body has one media type, every operation declares its errors in one shape with
their codes, the request detail is a discriminated union, and nothing is left untyped."""

from typing import Any

import pytest
from django.conf import settings
from openapi_spec_validator import validate

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/Error"
# The uploads, the only bodies that are not JSON.
MULTIPART = {
    ("post", "/api/v1/delivery-requests/{request_id}/deliver/photo/"),
    ("put", "/api/v1/me/driver-profile/identity/"),
}
# POSTs answering 201 that need no Idempotency-Key: registering a push token is an upsert on the
# token (a retry refreshes the same device).
CREATING_WITHOUT_KEY = {"/api/v1/devices/"}
TYPED = {"type", "$ref", "oneOf", "allOf", "anyOf", "enum"}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _walk(node: Any, path: str = "#") -> Any:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def test_the_served_schema_is_valid_openapi(served_schema):  # type: ignore[no-untyped-def]
    validate(served_schema)  # openapi-spec-validator: raises on the first error


def test_every_body_is_json_but_the_uploads(served_schema):  # type: ignore[no-untyped-def]
    media = {
        (method, path): list(operation["requestBody"]["content"])
        for method, path, operation in _operations(served_schema)
        if "requestBody" in operation
    }
    assert {key: types for key, types in media.items() if len(types) != 1} == {}
    multipart = {key for key, types in media.items() if types == ["multipart/form-data"]}
    assert multipart == MULTIPART
    assert all(
        types == ["application/json"] for key, types in media.items() if key not in MULTIPART
    )


def test_every_operation_declares_its_errors_with_their_codes(served_schema):  # type: ignore[no-untyped-def]
    undeclared = []
    for method, path, operation in _operations(served_schema):
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        if path == "/healthz":
            assert set(errors) == {"503"}  # the health report itself, not an error
            continue
        if not errors:
            undeclared.append((method, path))
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            base, narrowed = schema["allOf"]
            assert base == {"$ref": ERROR_REF}, (method, path, status)
            codes = narrowed["properties"]["code"]["enum"]
            assert codes, (method, path, status)
            assert all(f"`{code}`" in response["description"] for code in codes)
    assert undeclared == []


def test_the_errors_follow_from_the_operation(served_schema):  # type: ignore[no-untyped-def]
    def codes(operation: dict[str, Any], status: str) -> set[str]:
        response = operation["responses"].get(status)
        if response is None:
            return set()
        return set(
            response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"][
                "enum"
            ]
        )

    paths = served_schema["paths"]
    # A body: invalid or unreadable input, too large, not JSON.
    created = paths["/api/v1/delivery-requests/"]["post"]
    assert {"invalid", "malformed_request"} <= codes(created, "400")
    assert codes(created, "413") == {"request_too_large"}
    assert codes(created, "415") == {"unsupported_media_type"}
    # Idempotency-Key: a key used for another body, a first attempt still running.
    assert codes(created, "422") == {"idempotency_key_reused"}
    assert codes(created, "409") == {"idempotent_request_in_progress"}
    # The product's own, declared by the view.
    respond = paths["/api/v1/offers/{offer_id}/respond/"]["post"]
    assert {"offer_expired", "request_already_assigned", "trip_full"} <= codes(respond, "409")
    assert codes(respond, "403") == {"driver_not_approved"}
    assert codes(respond, "401") == {"authentication_failed", "not_authenticated"}
    assert codes(respond, "404") == {"not_found"}
    pickup = paths["/api/v1/desk/requests/{request_id}/pickup/"]["post"]
    assert "wrong_code" in codes(pickup, "400")
    assert codes(pickup, "423") == {"step_locked"}
    # Login: wrong credentials, a lockout, its limit that fails closed without Redis.
    login = paths["/api/v1/auth/token/"]["post"]
    assert codes(login, "401") == {"authentication_failed"}
    assert codes(login, "429") == {"locked_out", "throttled"}
    assert codes(login, "503") == {"rate_limit_unavailable"}
    # A list: its filters, and a cursor that is not one.
    offers = paths["/api/v1/offers/"]["get"]
    assert codes(offers, "400") == {"invalid"}
    assert codes(offers, "404") == {"not_found"}


def test_one_error_component(served_schema):  # type: ignore[no-untyped-def]
    error = served_schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail", "fields"}
    fields = error["properties"]["fields"]
    assert fields["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_every_creating_post_declares_an_idempotency_key(served_schema):  # type: ignore[no-untyped-def]
    creating = {
        path
        for method, path, operation in _operations(served_schema)
        if method == "post" and "201" in operation["responses"]
    }
    keyed = {
        path
        for method, path, operation in _operations(served_schema)
        if any(
            p["in"] == "header" and p["name"] == "Idempotency-Key"
            for p in operation.get("parameters", [])
        )
    }
    # Every POST answering 201, and registration (202: an account may have been created).
    assert creating - CREATING_WITHOUT_KEY | {"/api/v1/auth/register/"} == keyed


def test_a_request_detail_is_a_union_discriminated_by_audience(served_schema):  # type: ignore[no-untyped-def]
    schemas = served_schema["components"]["schemas"]
    answer = served_schema["paths"]["/api/v1/delivery-requests/{request_id}/"]["get"]
    ref = answer["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    union = schemas[ref.split("/")[-1]]
    assert union["discriminator"]["propertyName"] == "audience"
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == {"customer", "driver", "offered", "desk", "manager"}
    assert [one["$ref"] for one in union["oneOf"]] == list(mapping.values())
    for audience, target in mapping.items():
        shape = schemas[target.split("/")[-1]]
        assert "audience" in shape["required"]
        enum_ref = shape["properties"]["audience"]["allOf"][0]["$ref"]
        assert schemas[enum_ref.split("/")[-1]]["enum"] == [audience]


@pytest.mark.parametrize(
    ("method", "path", "audiences"),
    [
        ("post", "/api/v1/desk/requests/{request_id}/pickup/", {"customer", "desk", "manager"}),
        ("post", "/api/v1/delivery-requests/{request_id}/deliver/", {"offered", "manager"}),
        ("post", "/api/v1/delivery-requests/{request_id}/deliver/photo/", {"offered", "manager"}),
        ("post", "/api/v1/delivery-requests/{request_id}/fail/", {"offered", "manager"}),
        ("post", "/api/v1/manager/requests/{request_id}/review/", {"customer", "manager"}),
        ("post", "/api/v1/delivery-requests/{request_id}/cancel/", None),
    ],
)
def test_a_move_answers_the_shapes_its_actors_may_see(served_schema, method, path, audiences):  # type: ignore[no-untyped-def]
    schemas = served_schema["components"]["schemas"]
    answer = served_schema["paths"][path][method]["responses"]["200"]
    target = schemas[answer["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    if audiences is None:  # only the customer cancels: one shape
        assert "discriminator" not in target
        return
    assert target["discriminator"]["propertyName"] == "audience"
    assert set(target["discriminator"]["mapping"]) == audiences


def test_no_nullable_without_a_type_and_nothing_untyped(served_schema):  # type: ignore[no-untyped-def]
    loose = [
        path
        for path, node in _walk(served_schema)
        if isinstance(node, dict) and node.get("nullable") and "type" not in node
    ]
    untyped = [
        f"{path}/{name}"
        for path, node in _walk(served_schema["components"])
        if isinstance(node, dict) and isinstance(node.get("properties"), dict)
        for name, prop in node["properties"].items()
        if not TYPED & set(prop)
    ]
    free_form = [
        path
        for path, node in _walk(served_schema["components"])
        if isinstance(node, dict) and node.get("additionalProperties") in ({}, True)
    ]
    assert (loose, untyped, free_form) == ([], [], [])


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("RequestCustomer", "delivery_code"),
        ("RequestCustomer", "state"),
        ("RequestDriver", "pickup_code"),
        ("Offer", "state"),
        ("Trip", "state"),
        ("Me", "driver_profile"),
        ("PaginatedOfferList", "next"),
    ],
)
def test_always_present_fields_are_required(served_schema, component, field):  # type: ignore[no-untyped-def]
    assert field in served_schema["components"]["schemas"][component]["required"]


def test_nullable_references_read_as_a_component_or_null(served_schema):  # type: ignore[no-untyped-def]
    schemas = served_schema["components"]["schemas"]
    for component, field, target in [
        ("Me", "driver_profile", "DriverProfile"),
        ("RequestCustomer", "driver", "DriverPublic"),
        ("RequestManager", "driver", "DriverPublic"),
    ]:
        options = schemas[component]["properties"][field]["oneOf"]
        assert options[0] == {"$ref": f"#/components/schemas/{target}"}
        assert options[1] == {"type": "object", "nullable": True, "enum": [None]}


def test_tags_and_servers(served_schema):  # type: ignore[no-untyped-def]
    tags = {
        path: operation.get("tags")
        for method, path, operation in _operations(served_schema)
        if path.startswith("/api/v1/auth/")
    }
    assert set(map(tuple, tags.values())) == {("auth",)}
    assert all(operation.get("tags") != ["api"] for _, _, operation in _operations(served_schema))
    assert served_schema["servers"] == [{"url": url} for url in settings.API_SERVERS]
