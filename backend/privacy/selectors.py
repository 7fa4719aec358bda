"""A person's data export across the apps: each app exports its own part."""

from typing import Any

from backend.accounts.models import User
from backend.accounts.selectors import account_export_for_user
from backend.deliveries.selectors import requests_export_for_user
from backend.matching.selectors import trips_export_for_user
from notifications.selectors import notifications_export_for_user


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything the product holds about one person, for their own download."""
    account = account_export_for_user(user=user)
    requests = requests_export_for_user(user_id=user.pk)
    trips = trips_export_for_user(user_id=user.pk)
    notifications = notifications_export_for_user(user_id=user.pk)
    return {
        "account": account["account"],
        "driver_profile": account["driver_profile"],
        "delivery_requests": requests["delivery_requests"],
        "trips": trips["trips"],
        "commute_profiles": trips["commute_profiles"],
        "offers": trips["offers"],
        "ratings_given": requests["ratings_given"],
        "ratings_received": requests["ratings_received"],
        "earnings": requests["earnings"],
        "inbox": notifications["inbox"],
        "devices": notifications["devices"],
        "notification_preferences": notifications["notification_preferences"],
    }
