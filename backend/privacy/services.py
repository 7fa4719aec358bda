"""Erasure across the apps: each app erases its own part, in an order that keeps the history
consistent (the moves that involve offers and trips first, then the rows they leave behind)."""

from django.db import transaction

from backend.accounts.models import User
from backend.accounts.services import account_erase_for_user
from backend.core.idempotency import idempotency_erase_for_user
from backend.deliveries.services import requests_erase_for_user
from backend.matching.services import trips_erase_for_user
from backend.stores.services import memberships_erase_for_user
from notifications.services import notifications_erase_for_user


@transaction.atomic
def user_erase(*, user: User) -> None:
    """Delete an account: personal data is erased, the delivery history stays consistent
    (requests, offers, earnings and ratings remain, pointing at an anonymous account). No trace
    of the home stays: trips end at the store, commute profiles go, drop-offs are coarse, the
    positions and photos at the door go; so do the inbox, devices, notification preferences and
    the replayable answers to the account's POSTs.

    Raises AccountHasActiveDeliveries while a delivery is under way (nothing is changed).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    trips_erase_for_user(user_id=user.pk)
    requests_erase_for_user(user_id=user.pk)
    memberships_erase_for_user(user_id=user.pk)
    notifications_erase_for_user(user_id=user.pk)
    idempotency_erase_for_user(user_id=user.pk)
    account_erase_for_user(user=user)
