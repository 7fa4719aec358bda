"""The one door from the domain apps to the notifications app."""

from typing import Any

from notifications.services import device_forget, notify


def notify_user(
    *,
    user_id: int,
    event: str,
    payload: dict[str, Any],
    ttl_s: int | None = None,
    collapse_key: str | None = None,
) -> None:
    """Write the user's inbox row and queue the push, inside the caller's transaction."""
    notify(user_id=user_id, event=event, payload=payload, ttl_s=ttl_s, collapse_key=collapse_key)


def forget_device(*, user_id: int, token: str) -> None:
    """At logout: the user's device with this push token is forgotten (nothing if there is
    none), with the pushes still queued for it."""
    device_forget(user_id=user_id, token=token)
