from backend.core.errors import DomainError


class FeeAtMaximum(DomainError):
    code = "fee_at_maximum"
    default_detail = "The fee is already at the store's maximum."


class NoActiveVan(DomainError):
    code = "no_active_van"
    default_detail = "The store has no active van to hand the request to."


class RequestNotOpen(DomainError):
    code = "request_not_open"
    default_detail = "This request is no longer open."
