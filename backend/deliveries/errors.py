from django.conf import settings
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


class PhotoTooLarge(DomainError):
    code = "photo_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The photo is too large."

    def __init__(self) -> None:
        limit = settings.PROOF_PHOTO_MAX_BYTES
        size = f"{limit / 2**20:.3g} MB" if limit >= 2**20 else f"{limit / 2**10:.3g} kB"
        super().__init__(f"The upload must be at most {size}.")
        self.fields = {"photo": [self.detail]}
