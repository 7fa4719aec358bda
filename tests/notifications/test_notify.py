"""notify(): inbox and outbox in the caller's transaction, preferences, wording."""

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications import services
from notifications.backends import LoggingBackend, Push, get_backend
from notifications.events import SPECS, Event, format_fee, render, template_fields
from notifications.models import Device, InboxItem, NotificationPreference, OutboxMessage
from tests.notifications.conftest import Enqueued

OFFER = {
    "request_id": 7,
    "offer_id": 70,
    "store_name": "Maison Bleue",
    "fee_cents": 1250,
    "detour_min": 6,
}


def register(user: Any, token: str) -> None:
    services.device_register(user_id=user.pk, token=token, platform="android")


@pytest.mark.django_db
def test_notify_writes_inbox_and_outbox_and_queues_the_send_after_commit(
    user_factory: Any, enqueued: list[Enqueued], django_capture_on_commit_callbacks: Any
) -> None:
    driver = user_factory()
    register(driver, "tok-1")
    register(driver, "tok-2")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        item = services.notify(user_id=driver.pk, event=Event.OFFER_NEW, payload=OFFER, ttl_s=120)
        assert enqueued == []  # nothing is queued before the caller's transaction commits

    assert item is not None
    assert item.title == "New delivery offer"
    assert item.body == "Maison Bleue: earn €12.50 for a 6 min detour."
    assert item.collapse_key == "request-7"
    assert item.expires_at is not None
    assert len(callbacks) == 1
    messages = OutboxMessage.objects.filter(inbox_item=item)
    assert messages.count() == 2
    assert [sorted(e.outbox_ids) for e in enqueued] == [sorted(m.pk for m in messages)]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_written_or_sent_when_the_callers_transaction_rolls_back(
    user_factory: Any, enqueued: list[Enqueued]
) -> None:
    driver = user_factory()
    register(driver, "tok-1")

    class CallerFailedError(Exception):
        pass

    def caller() -> None:
        with transaction.atomic():
            services.notify(user_id=driver.pk, event=Event.OFFER_NEW, payload=OFFER)
            raise CallerFailedError

    with pytest.raises(CallerFailedError):
        caller()

    assert InboxItem.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    assert enqueued == []


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_at_commit_does_not_break_the_caller(
    user_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifications import tasks

    driver = user_factory()
    register(driver, "tok-1")

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.send_outbox_messages, "apply_async", broker_down)
    with transaction.atomic():
        item = services.notify(
            user_id=driver.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
        )

    assert item is not None
    message = OutboxMessage.objects.get(inbox_item=item)
    assert message.state == OutboxMessage.State.PENDING


@pytest.mark.django_db
def test_user_language_picks_the_wording(user_factory: Any) -> None:
    customer = user_factory(language="fr")

    item = services.notify(
        user_id=customer.pk,
        event=Event.REQUEST_ARRIVING_SOON,
        payload={"request_id": 3, "eta_min": 5},
    )

    assert item is not None
    assert (item.title, item.body, item.language) == (
        "Arrivée imminente",
        "Votre commande arrive dans 5 min environ.",
        "fr",
    )


@pytest.mark.django_db
def test_muted_event_is_neither_listed_nor_pushed(user_factory: Any) -> None:
    user = user_factory()
    register(user, "tok-1")
    services.preference_update(user_id=user.pk, muted_events=[Event.REQUEST_RATE])

    result = services.notify(user_id=user.pk, event=Event.REQUEST_RATE, payload={"request_id": 1})

    assert result is None
    assert not InboxItem.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_offer_in_quiet_hours_is_listed_but_not_pushed_other_events_still_are(
    user_factory: Any,
) -> None:
    driver = user_factory()
    register(driver, "tok-1")
    # Quiet from an hour ago to an hour from now, on the user's clock.
    now_local = datetime.now(tz=ZoneInfo("Europe/Paris"))
    window = ((now_local - timedelta(hours=1)).time(), (now_local + timedelta(hours=1)).time())
    services.preference_update(user_id=driver.pk, quiet_hours=window, time_zone="Europe/Paris")

    offer = services.notify(user_id=driver.pk, event=Event.OFFER_NEW, payload=OFFER)
    assigned = services.notify(
        user_id=driver.pk,
        event=Event.OFFER_WITHDRAWN,
        payload={"request_id": 7, "offer_id": 70, "store_name": "Maison Bleue"},
    )

    assert offer is not None
    assert assigned is not None
    assert not offer.outbox_messages.exists()
    assert assigned.outbox_messages.count() == 1


@pytest.mark.parametrize(
    ("start", "end", "utc_time", "quiet"),
    [
        (time(22), time(7), datetime(2026, 1, 15, 21, 30, tzinfo=UTC), True),  # 22:30 Paris
        (time(22), time(7), datetime(2026, 1, 15, 6, 30, tzinfo=UTC), False),  # 07:30 Paris
        (time(22), time(7), datetime(2026, 1, 15, 5, 59, tzinfo=UTC), True),  # 06:59 Paris
        (time(22), time(7), datetime(2026, 7, 15, 20, 30, tzinfo=UTC), True),  # 22:30 summer
        (time(22), time(7), datetime(2026, 7, 15, 19, 30, tzinfo=UTC), False),  # 21:30 summer
        (time(12), time(14), datetime(2026, 1, 15, 12, 0, tzinfo=UTC), True),  # 13:00 Paris
        (time(12), time(14), datetime(2026, 1, 15, 13, 0, tzinfo=UTC), False),  # 14:00 Paris
        (time(9), time(9), datetime(2026, 1, 15, 8, 0, tzinfo=UTC), False),  # empty window
    ],
)
def test_quiet_hours_are_read_in_the_users_time_zone(
    start: time, end: time, utc_time: datetime, quiet: bool
) -> None:
    preference = NotificationPreference(
        quiet_hours_start=start, quiet_hours_end=end, time_zone="Europe/Paris"
    )

    assert services.in_quiet_hours(preference=preference, at=utc_time) is quiet


# Generating times is cheap; on a shared, loaded machine the first draws can still take over a
# second of wall time, which hypothesis would report as slow generation rather than a failure.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.times(),
    end=st.times(),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_quiet_hours_match_the_window_as_a_person_reads_it(
    start: time, end: time, at: datetime
) -> None:
    preference = NotificationPreference(quiet_hours_start=start, quiet_hours_end=end)
    local = at.time()
    # From start to end, on to the next day when end comes first on the clock.
    inside = False
    if start != end:
        cursor = datetime.combine(at.date(), start)
        stop = datetime.combine(at.date(), end)
        if stop <= cursor:
            stop += timedelta(days=1)
        probe = datetime.combine(at.date(), local)
        inside = cursor <= probe < stop or cursor <= probe + timedelta(days=1) < stop

    assert services.in_quiet_hours(preference=preference, at=at) is inside


@pytest.mark.django_db
def test_inactive_user_is_not_notified(user_factory: Any) -> None:
    user = user_factory(is_active=False)

    assert (
        services.notify(user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1})
        is None
    )
    assert not InboxItem.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "payload", "error"),
    [
        ("offer.nope", {"request_id": 1}, services.UnknownEventError),
        (Event.OFFER_NEW, {"request_id": 1}, services.InvalidPayloadError),
        (Event.REQUEST_DELIVERED, {"request_id": None}, services.InvalidPayloadError),
        (Event.REQUEST_DELIVERED, {"request_id": 1, "from": "x"}, services.InvalidPayloadError),
        (Event.REQUEST_DELIVERED, {"request_id": 1, "google_x": 1}, services.InvalidPayloadError),
        (Event.REQUEST_DELIVERED, {"request_id": 1, "Bad Key": 1}, services.InvalidPayloadError),
        (Event.REQUEST_DELIVERED, {"request_id": [1]}, services.InvalidPayloadError),
    ],
)
def test_misuse_by_the_caller_is_refused_loudly(
    user_factory: Any, event: str, payload: Any, error: type[Exception]
) -> None:
    user = user_factory()

    with pytest.raises(error):
        services.notify(user_id=user.pk, event=event, payload=payload)
    assert not InboxItem.objects.exists()


@pytest.mark.django_db
def test_unknown_user_is_refused() -> None:
    with pytest.raises(services.UnknownRecipientError):
        services.notify(user_id=999_999, event=Event.REQUEST_DELIVERED, payload={"request_id": 1})


@pytest.mark.django_db
def test_notify_many_costs_the_same_queries_for_two_or_twenty_drivers(
    user_factory: Any, django_assert_num_queries: Any
) -> None:
    def fan_out(count: int) -> None:
        drivers = [user_factory() for _ in range(count)]
        for index, driver in enumerate(drivers):
            register(driver, f"tok-{count}-{index}")
        recipients = {d.pk: {**OFFER, "offer_id": 100 + i} for i, d in enumerate(drivers)}
        # users, preferences, inbox insert, devices, outbox insert (inside one savepoint)
        with django_assert_num_queries(7):
            items = services.notify_many(event=Event.OFFER_NEW, recipients=recipients, ttl_s=60)
        assert len(items) == count
        assert OutboxMessage.objects.filter(inbox_item__in=items.values()).count() == count

    fan_out(2)
    fan_out(20)


@pytest.mark.django_db
def test_device_moving_to_another_account_cancels_what_was_queued_for_the_old_one(
    user_factory: Any,
) -> None:
    first, second = user_factory(), user_factory()
    register(first, "shared-phone")
    item = services.notify(
        user_id=first.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    # While the first account holds the token it does not move; once FCM reported it gone and
    # Firebase issued it again, the next account to register it takes it.
    with pytest.raises(services.DeviceTokenInUse):
        services.device_register(user_id=second.pk, token="shared-phone", platform="ios")
    Device.objects.filter(token="shared-phone").update(is_active=False)

    device, created = services.device_register(
        user_id=second.pk, token="shared-phone", platform="ios"
    )

    assert created is False
    assert device.user_id == second.pk
    assert item.outbox_messages.get().state == OutboxMessage.State.CANCELLED


def test_every_event_has_english_and_french_wording_using_only_declared_payload_keys() -> None:
    assert set(SPECS) == set(Event.values)
    for event, spec in SPECS.items():
        assert set(spec.templates) == {"en", "fr"}, event
        for template in spec.templates.values():
            used = template_fields(template.title) | template_fields(template.body)
            assert used <= set(spec.required) | {"fee"}, event
            if "fee" in used:
                assert "fee_cents" in spec.required


def test_every_event_renders_in_both_languages_from_its_required_keys() -> None:
    for event, spec in SPECS.items():
        payload = dict.fromkeys(spec.required, 1)
        for language in ("en", "fr", "de"):
            text = render(event=event, payload=payload, language=language)
            assert text.title
            assert "{" not in text.body


def test_fees_are_written_the_readers_way() -> None:
    assert format_fee(fee_cents=750, language="en") == "€7.50"
    assert format_fee(fee_cents=750, language="fr") == "7,50 €"


def test_without_firebase_credentials_pushes_are_logged(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NOTIFICATIONS_BACKEND = "notifications.backends.LoggingBackend"
    backend = get_backend()
    assert isinstance(backend, LoggingBackend)

    with caplog.at_level(logging.INFO, logger="notifications.backends"):
        (result,) = backend.send_batch(
            [Push(token="abcdefgh12345678", title="T", body="B", data={"request_id": "1"})]
        )

    assert result.outcome == "sent"
    (record,) = caplog.records
    assert record.push_title == "T"  # type: ignore[attr-defined]
    assert record.push_data == {"request_id": "1"}  # type: ignore[attr-defined]
    assert record.push_token_suffix == "12345678"  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_offline_the_whole_path_runs_through_the_logging_backend(
    user_factory: Any,
    settings: Any,
    enqueued: list[Enqueued],
    run_queued: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.NOTIFICATIONS_BACKEND = "notifications.backends.LoggingBackend"
    driver = user_factory()
    register(driver, "tok-offline-1")

    with django_capture_on_commit_callbacks(execute=True):
        item = services.notify(user_id=driver.pk, event=Event.OFFER_NEW, payload=OFFER, ttl_s=60)
    with caplog.at_level(logging.INFO, logger="notifications.backends"):
        run_queued()

    assert item is not None
    message = item.outbox_messages.get()
    assert message.state == OutboxMessage.State.SENT
    assert message.fcm_message_id.startswith("logged/")
    assert "New delivery offer" in caplog.text
