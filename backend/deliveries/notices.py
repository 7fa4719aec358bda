"""What the domain tells people, with the payload each notification needs — in one place.

Every function runs inside the caller's transaction (the inbox row is written with the change
that caused it; the push goes out after commit).
"""

from collections.abc import Iterable

from backend.core.notifying import notify_user
from backend.deliveries.models import DeliveryRequest


def collapse_key(request_id: int) -> str:
    """One request's notices replace each other on the phone: only the latest is shown."""
    return f"request-{request_id}"


def _first_name(full_name: str) -> str:
    return (full_name or "").split(" ")[0] or "Your driver"


def first_response(*, request: DeliveryRequest, driver_name: str) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.first_response",
        payload={"request_id": request.pk, "driver_name": _first_name(driver_name)},
    )


def choose_driver(*, request: DeliveryRequest, responder_count: int) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.choose_driver",
        payload={"request_id": request.pk, "responder_count": responder_count},
        collapse_key=collapse_key(request.pk),
    )


def assigned(*, request: DeliveryRequest, driver_name: str) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.assigned",
        payload={"request_id": request.pk, "driver_name": _first_name(driver_name)},
    )


def picked_up(*, request: DeliveryRequest, driver_name: str) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.picked_up",
        payload={"request_id": request.pk, "driver_name": _first_name(driver_name)},
    )


def arriving_soon(*, request: DeliveryRequest, eta_min: int) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.arriving_soon",
        payload={"request_id": request.pk, "eta_min": eta_min},
    )


def delivered(*, request: DeliveryRequest, staff_ids: Iterable[int]) -> None:
    payload = {"request_id": request.pk}
    notify_user(user_id=request.customer_id, event="request.delivered", payload=payload)
    notify_user(user_id=request.customer_id, event="request.rate", payload=payload)
    for user_id in staff_ids:
        notify_user(
            user_id=user_id,
            event="store.request_delivered",
            payload={"request_id": request.pk, "store_id": request.store_id},
        )


def driver_rate(*, request: DeliveryRequest, driver_id: int) -> None:
    notify_user(user_id=driver_id, event="request.rate", payload={"request_id": request.pk})


def cancelled(*, request: DeliveryRequest) -> None:
    notify_user(
        user_id=request.customer_id,
        event="request.cancelled",
        payload={"request_id": request.pk, "reason": request.cancel_reason},
    )


def expired(*, request: DeliveryRequest) -> None:
    notify_user(
        user_id=request.customer_id, event="request.expired", payload={"request_id": request.pk}
    )
