from django.db import transaction

from backend.core.errors import InvalidInput
from backend.stores.models import Store

POLICY_FIELDS = (
    "assignment_mode",
    "offer_fanout_k",
    "offer_lifetime_s",
    "collection_window_s",
    "fee_base_eur",
    "fee_per_detour_km_eur",
    "fee_min_eur",
    "fee_max_eur",
    "max_parcel_weight_kg",
    "max_parcel_volume_l",
    "max_parcel_length_cm",
    "service_radius_m",
)


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
