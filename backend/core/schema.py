"""The OpenAPI schema as the mobile teams' generated clients read it (``/api/schema/``).

drf-spectacular builds it from the views and serializers; this module adds what it cannot know:

- **Errors.** Every error has one shape, the ``Error`` component (``code``, ``detail``,
  ``fields``). Each operation declares the 4xx (and 503) answers it can give, with the stable
  codes of each as an enum. The generic ones are derived from the view itself (a body: 400
  ``invalid``/``malformed_request``, 413, 415; query parameters: 400; path parameters or a
  cursor: 404; authentication: 401; throttles: 429, and 503 where the limit fails closed;
  ``Idempotency-Key``: 400, 409, 422); the product's own are the errors the view method declares
  with ``@raises(...)`` — domain errors (``DomainError``) or DRF exceptions, whose status and
  code are read from the class, so they cannot drift from what the handler answers.
- **Idempotency-Key**: a header parameter of every POST wrapped in ``core.idempotency.idempotent``.
- **Always-present fields are required** in responses: a serializer writes every field it has,
  so only a plain serializer's field declared ``required=False`` may be missing from an answer.
- **Nullable references in OpenAPI 3.0.3 form**: ``oneOf`` the component or null, not
  ``nullable`` beside an ``allOf`` without a ``type`` (which 3.0.3 says has no effect).
"""

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny

from backend.core.errors import error_code, error_status
from backend.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from backend.core.middleware import TOO_LARGE_CODE

ERROR_COMPONENT = "Error"

# What each status means, for the response's description (the codes follow it).
STATUS_TEXT = {
    400: "Invalid input: `fields` names what was wrong.",
    401: "Not logged in, or the access token is invalid or expired (refresh it, or log in).",
    403: "Logged in, but not allowed to do this.",
    404: "Not found, or not yours to see (the two are not told apart).",
    409: "Refused by the current state of things.",
    413: "The request body is too large.",
    415: "The body is not JSON (or, for an upload, not multipart/form-data).",
    422: "The Idempotency-Key was already used with another request.",
    423: "Locked: too many wrong codes; the store reviews the delivery.",
    429: "Too many requests: wait for `Retry-After` seconds.",
    503: "Briefly unavailable: try again after `Retry-After` seconds.",
}


class ErrorSerializer(serializers.Serializer):
    """Every error of the API. An operation lists the codes it answers with for each status."""

    code = serializers.CharField(
        help_text="Stable, for the app to switch on (`invalid`, `wrong_code`, `trip_full`, …)."
    )
    detail = serializers.CharField(help_text="For people: what went wrong, in a sentence.")
    # (DRF's metaclass takes declared fields off the class: this one does not hide ``.fields``.)
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by input field (nested ones by path: `dropoff.lat`, "
        "`parcels[0].weight_kg`); empty when no field is to blame.",
    )


def raises[Method: Callable[..., Any]](*errors: type[Exception]) -> Callable[[Method], Method]:
    """Declare the errors a view method can answer with, beyond the generic ones this module
    derives by itself: the classes of the domain errors (or DRF exceptions) it may raise."""

    def mark(method: Method) -> Method:
        method.raises = (*getattr(method, "raises", ()), *errors)  # type: ignore[attr-defined]
        return method

    return mark


class ConstantFieldExtension(OpenApiSerializerFieldExtension):
    """``core.fields.ConstantField``: a string that is always the same value."""

    target_class = "backend.core.fields.ConstantField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": [self.target.value]}


class ApiAutoSchema(AutoSchema):
    def _view_method(self) -> Any:
        return getattr(self.view, self.method.lower(), None)

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if getattr(self._view_method(), "idempotent", False):
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="A key of your choosing (1 to 255 printable characters) for "
                    "this attempt: a retry with the same key and body gets the first answer back "
                    "(with `Idempotent-Replayed: true`) and creates nothing twice.",
                )
            )
        return parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation["responses"]
        for status, codes in sorted(self._error_codes(operation).items()):
            key = str(status)
            declared = responses.get(key, {})
            description = declared.get("description") or STATUS_TEXT.get(status, "Error.")
            responses[key] = {
                **declared,
                "description": f"{description} Codes: {', '.join(f'`{c}`' for c in codes)}.",
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                error_ref,
                                {
                                    "type": "object",
                                    "properties": {"code": {"type": "string", "enum": codes}},
                                    "required": ["code"],
                                },
                            ]
                        }
                    }
                },
            }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> dict[int, list[str]]:
        codes: dict[int, set[str]] = defaultdict(set)
        parameters = operation.get("parameters", [])
        if "requestBody" in operation:
            codes[400] |= {"invalid", "malformed_request"}
            codes[413].add(TOO_LARGE_CODE)
            codes[415].add("unsupported_media_type")
        if any(p["in"] == "query" for p in parameters):
            codes[400].add("invalid")
        if any(p["in"] == "path" for p in parameters) or self._is_cursor_list():
            codes[404].add("not_found")
        if self.view.get_authenticators():
            codes[401].add("authentication_failed")
            if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
                codes[401].add("not_authenticated")
        for throttle in self.view.get_throttles():
            codes[429].add("throttled")
            if getattr(throttle, "fails_closed", False):
                codes[503].add("rate_limit_unavailable")
        method = self._view_method()
        if getattr(method, "idempotent", False):
            codes[400].add("invalid")
            codes[409].add("idempotent_request_in_progress")
            codes[422].add("idempotency_key_reused")
        for kind in getattr(method, "raises", ()):
            codes[error_status(kind)].add(error_code(kind))
        return {status: sorted(found) for status, found in codes.items()}

    def _is_cursor_list(self) -> bool:
        paginator = self._get_paginator()
        return isinstance(paginator, CursorPagination) and self._is_list_view()

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction != "response":
            return schema
        # Every field a serializer has is in its output, except a field of a plain serializer
        # (whose data may be a dict, a dataclass) declared as possibly missing: required=False,
        # without a default or null to stand in. A model serializer's rows have every field.
        optional = set()
        if not isinstance(serializer, serializers.ModelSerializer):
            optional = {
                name
                for name, field in serializer.fields.items()
                if not (field.required or field.read_only or field.allow_null)
                and field.default is empty
            }
        required = [name for name in schema.get("properties", {}) if name not in optional]
        if required:
            schema["required"] = required
        return schema


# --- post-processing -----------------------------------------------------------------------------

# The one null value, in the form of OpenAPI 3.0.3 (a type, nullable, and null as its only value):
# generators read ``oneOf: [X, NULL]`` as "an X or null".
NULL_SCHEMA = {"type": "object", "nullable": True, "enum": [None]}


def _nullable_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_refs(value) for key, value in node.items()}
    all_of = node.get("allOf")
    if (
        node.get("nullable")
        and "type" not in node
        and isinstance(all_of, list)
        and len(all_of) == 1
    ):
        del node["nullable"], node["allOf"]
        node["oneOf"] = [all_of[0], dict(NULL_SCHEMA)]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def _reachable(roots: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _request_defaults_described(result: dict[str, Any]) -> None:
    """A default in a component that only request bodies use says what the server assumes when
    the field is left out: said in the description rather than as ``default``, which some
    generators (openapi-typescript) take as "always present" and so make the client send it."""
    schemas = result.get("components", {}).get("schemas", {})
    operations = [
        operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
    ]
    into_requests = _reachable(_refs([o.get("requestBody", {}) for o in operations]), schemas)
    into_responses = _reachable(_refs([o.get("responses", {}) for o in operations]), schemas)
    for name in into_requests - into_responses:
        for prop in schemas[name].get("properties", {}).values():
            if "default" in prop:
                default = prop.pop("default")
                shown = json.dumps(default, ensure_ascii=False)
                text = prop.get("description", "")
                prop["description"] = f"{text} Default: {shown}.".strip()


def postprocess_contract(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """The schema's last pass: nullable references in 3.0.3 form, request defaults described."""
    result = _nullable_refs(result)
    _request_defaults_described(result)
    return result
