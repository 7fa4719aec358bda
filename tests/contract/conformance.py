"""Every answer the test suite gets from the API is one the schema declares.

The suite's clients (Django's and DRF's test clients) are watched: each JSON answer of an
operation of ``/api/`` must have a status the operation declares and a body that validates
against the declared schema — an error's code among the codes listed for that status, a shape
with no field the schema leaves out of its required list missing. The whole suite (the
authorisation walk of every endpoint with every role, the bad-input tests, the flows) thereby
checks that the schema's errors are complete: a test that meets an undeclared answer fails
where it meets it.

Answers to routes or methods the schema does not have (a 404 for an unknown path, a 405) are not
the schema's business, nor non-JSON answers (CSV exports, the delivery photo) beyond their
status.
"""

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from openapi_schema_validator import OAS30ReadValidator


@dataclass
class Contract:
    schema: dict[str, Any]
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @cached_property
    def routes(self) -> list[tuple[re.Pattern[str], str]]:
        routes = []
        for template in self.schema["paths"]:
            pattern = "/".join(
                "[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/")
            )
            routes.append((re.compile(f"^{pattern}$"), template))
        # Literal segments first: /notifications/read-all/ before /notifications/{pk}/.
        routes.sort(key=lambda route: route[1].count("{"))
        return routes

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template in self.routes:
            if pattern.match(path):
                operation = self.schema["paths"][template].get(method.lower())
                return (template, operation) if operation else None
        return None

    def problem(
        self, method: str, path: str, status: int, content_type: str, body: Any
    ) -> str | None:
        """What is wrong with this answer, or None."""
        found = self.operation(method, path)
        if found is None:
            return None
        template, operation = found
        declared = operation["responses"].get(str(status))
        where = f"{method.upper()} {template} answered {status}"
        if declared is None:
            code = body.get("code") if isinstance(body, dict) else None
            return f"{where} (code {code!r}), which the schema does not declare"
        media = declared.get("content", {})
        if "application/json" not in media or not content_type.startswith("application/json"):
            return None
        key = (template, method, str(status))
        if key not in self._validators:
            schema = {
                **media["application/json"]["schema"],
                "components": self.schema["components"],
            }
            self._validators[key] = OAS30ReadValidator(schema)
        errors = sorted(self._validators[key].iter_errors(body), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            location = "/".join(str(part) for part in first.absolute_path)
            return f"{where} with a body the schema does not allow, at /{location}: {first.message}"
        return None


def served_contract() -> Contract:
    """The schema the application serves, generated in process."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return Contract(json.loads(OpenApiJsonRenderer().render(schema)))
