from django.db import transaction

from backend.core.errors import InvalidInput
from backend.stores.models import POLICY_FIELDS, Store, StoreMembership


@transaction.atomic
def store_policy_update(*, store_id: int, **changes: object) -> Store:
    """Change a store's policy. Raises InvalidInput when min fee would exceed max fee."""
    store = Store.objects.select_for_update().get(pk=store_id)
    for name, value in changes.items():
        if name not in POLICY_FIELDS:
            raise InvalidInput(name, "Not a policy setting.")
        setattr(store, name, value)
    if store.fee_min_eur > store.fee_max_eur:
        raise InvalidInput("fee_min_eur", "The minimum fee cannot exceed the maximum fee.")
    if changes:
        store.save(update_fields=list(changes))
    return store


def memberships_erase_for_user(*, user_id: int) -> None:
    """For an account being deleted: it no longer works at any store."""
    StoreMembership.objects.filter(user_id=user_id).delete()
