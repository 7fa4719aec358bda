"""What matching tells drivers about their offers, with the payload each notification needs.

Every function runs inside the caller's transaction (the inbox row is written with the change
that caused it; the push goes out after commit).
"""

from collections.abc import Iterable

from backend.core.notifying import notify_user
from backend.deliveries.models import DeliveryRequest
from backend.deliveries.notices import collapse_key


def offer_new(
    *,
    driver_id: int,
    request: DeliveryRequest,
    offer_id: int,
    fee_cents: int,
    shown_detour_s: int,
    ttl_s: int,
) -> None:
    """A new offer, with the detour and fee the driver is shown (``matching.selectors``
    ``ShownDetour``: to the drop-off area, rounded), never the exact detour."""
    notify_user(
        user_id=driver_id,
        event="offer.new",
        payload={
            "request_id": request.pk,
            "offer_id": offer_id,
            "store_name": request.store.name,
            "fee_cents": fee_cents,
            "detour_min": round(shown_detour_s / 60),
        },
        ttl_s=max(1, ttl_s),
        collapse_key=collapse_key(request.pk),
    )


def offers_withdrawn(*, request: DeliveryRequest, offers: Iterable[tuple[int, int]]) -> None:
    """Tell each (driver id, offer id) that the request is no longer available."""
    for driver_id, offer_id in offers:
        notify_user(
            user_id=driver_id,
            event="offer.withdrawn",
            payload={
                "request_id": request.pk,
                "offer_id": offer_id,
                "store_name": request.store.name,
            },
            collapse_key=collapse_key(request.pk),
        )


def offer_selected(*, driver_id: int, request: DeliveryRequest, offer_id: int) -> None:
    notify_user(
        user_id=driver_id,
        event="offer.selected",
        payload={"request_id": request.pk, "offer_id": offer_id, "store_name": request.store.name},
        collapse_key=collapse_key(request.pk),
    )
