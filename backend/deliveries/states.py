from django.utils import timezone

from backend.deliveries.errors import InvalidTransition
from backend.deliveries.models import REQUEST_TRANSITIONS, DeliveryRequest, RequestState

_TIMESTAMP = {
    RequestState.ASSIGNED: "assigned_at",
    RequestState.PICKED_UP: "picked_up_at",
    RequestState.DELIVERED: "delivered_at",
}


def request_move(request: DeliveryRequest, state: RequestState) -> list[str]:
    """Move a locked request to ``state`` in memory, stamping the time; return the fields to
    save. Raises InvalidTransition for a move the state machine does not have."""
    if state not in REQUEST_TRANSITIONS[RequestState(request.state)]:
        raise InvalidTransition(
            f"A request that is {request.state} cannot become {state}.",
        )
    request.state = state
    now = timezone.now()
    fields = ["state"]
    if state in _TIMESTAMP:
        setattr(request, _TIMESTAMP[state], now)
        fields.append(_TIMESTAMP[state])
    if not REQUEST_TRANSITIONS[state]:
        request.closed_at = now
        fields.append("closed_at")
    return fields
