"""The check every API answer of the suite goes through (``conformance.py``, run by
``tests/conftest.py``) catches what it is there for."""

import pytest

from tests.contract.conformance import Contract, served_contract

ERROR = {"detail": "…", "fields": {}}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return served_contract()


def test_an_undeclared_status_is_caught(contract: Contract) -> None:
    problem = contract.problem("GET", "/api/v1/me/", 418, "application/json", {"code": "x"})
    assert problem == "GET /api/v1/me/ answered 418 (code 'x'), which the schema does not declare"


def test_an_error_code_the_operation_does_not_list_is_caught(contract: Contract) -> None:
    url = "/api/v1/offers/3/respond/"
    assert (
        contract.problem("POST", url, 409, "application/json", {"code": "trip_full", **ERROR})
        is None
    )
    problem = contract.problem(
        "POST", url, 409, "application/json", {"code": "wrong_code", **ERROR}
    )
    assert problem is not None
    assert "'wrong_code' is not one of" in problem


def test_a_missing_field_is_caught(contract: Contract) -> None:
    problem = contract.problem("GET", "/api/v1/me/", 200, "application/json", {"id": 1})
    assert problem is not None
    assert "required property" in problem


def test_routes_and_methods_the_schema_does_not_have_are_not_its_business(
    contract: Contract,
) -> None:
    assert contract.problem("GET", "/api/v1/nowhere/", 404, "application/json", {}) is None
    assert contract.problem("PUT", "/api/v1/me/", 405, "application/json", {}) is None
    # A literal route wins over a parameter: read-all/ is not notification "read-all".
    assert contract.operation("POST", "/api/v1/notifications/read-all/") is not None
