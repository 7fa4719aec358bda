from rest_framework import status

from backend.core.errors import DomainError


class RequestNotOpen(DomainError):
    code = "request_not_open"
    default_detail = "This request is no longer open."


class RequestAlreadyAssigned(DomainError):
    code = "request_already_assigned"
    default_detail = "Another driver already took this request."


class InvalidTransition(DomainError):
    code = "invalid_state"
    default_detail = "The request cannot make this step from its current state."


class WrongCode(DomainError):
    code = "wrong_code"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The code is not right."

    def __init__(self, field: str, attempts_left: int) -> None:
        super().__init__(f"The code is not right; {attempts_left} attempt(s) left.")
        self.fields = {field: [self.detail]}


class StepLocked(DomainError):
    code = "step_locked"
    status_code = status.HTTP_423_LOCKED
    default_detail = "Too many wrong codes: the store will review this delivery."


class AlreadyRated(DomainError):
    code = "already_rated"
    default_detail = "This delivery was already rated."


class AccountHasActiveDeliveries(DomainError):
    code = "active_deliveries"
    default_detail = (
        "A delivery you take part in is under way; the account can be deleted once it is over."
    )
