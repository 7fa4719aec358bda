"""Simulated time, for the store-evening simulation only.

A simulation steps a clock held in Redis; every process of that run (the simulation and the
Celery worker it starts) reads it, so requests, offers, expiries and KPIs all happen in
simulated time and a seeded evening replays exactly. Enabled only when SIMULATION_CLOCK names
the Redis key (production settings refuse it); otherwise Django's clock is untouched.
"""

from datetime import datetime
from functools import cache

import redis
from django.conf import settings
from django.utils import timezone

_real_now = timezone.now


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _key() -> str:
    return str(settings.SIMULATION_CLOCK)


def simulated_now() -> datetime:
    """The simulated time if the run has set one, else the real time."""
    value = _client().get(_key())
    if value is None:
        return _real_now()
    return datetime.fromisoformat(bytes(value).decode())  # type: ignore[arg-type]


def install() -> None:
    """Make ``django.utils.timezone.now`` (and everything built on it: auto_now fields,
    services, selectors) read the simulated clock in this process."""
    if settings.SIMULATION_CLOCK:
        timezone.now = simulated_now


def set_time(moment: datetime) -> None:
    _client().set(_key(), moment.isoformat(), ex=24 * 3600)


def clear() -> None:
    _client().delete(_key())
