"""Reads that report on the service itself."""

from typing import TypedDict

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from backend.core import travel
from routing.roads import TravelUnavailable


class CheckResult(TypedDict, total=False):
    status: str  # "ok", "degraded" or "error"
    detail: str
    version: str
    pending: int
    engine: str


class HealthReport(TypedDict):
    status: str
    checks: dict[str, CheckResult]


def _error(exc: BaseException) -> CheckResult:
    # First line only: enough to name the cause, never a stack trace.
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return {"status": "error", "detail": f"{type(exc).__name__}: {message}"[:300]}


def _check_database() -> CheckResult:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return _error(exc)
    return {"status": "ok"}


def _check_postgis() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            (version,) = cursor.fetchone()
    except DatabaseError as exc:
        return _error(exc)
    return {"status": "ok", "version": str(version)}


def _check_migrations() -> CheckResult:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return _error(exc)
    if plan:
        return {
            "status": "error",
            "detail": f"{len(plan)} migration(s) not applied",
            "pending": len(plan),
        }
    return {"status": "ok", "pending": 0}


def _check_redis() -> CheckResult:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
    except redis.RedisError as exc:
        return _error(exc)
    return {"status": "ok"}


def _check_roads() -> CheckResult:
    """The travel engine: "degraded" (not an error: the product falls back to straight-line
    estimates) when the road engine cannot be loaded, or did not answer a call lately."""
    engine = str(settings.TRAVEL_ENGINE)
    if not travel.road_configured():
        return {"status": "ok", "engine": engine}
    try:
        road = travel.road_travel()
        if road is not None:
            road.ping()
    except TravelUnavailable as exc:
        return {"status": "degraded", "engine": engine, "detail": _error(exc)["detail"]}
    try:
        fallback = travel.degraded_since()
    except Exception:  # the cache is Redis: its own check reports it
        fallback = None
    if fallback is not None:
        return {
            "status": "degraded",
            "engine": engine,
            "detail": f"straight-line estimates used since {fallback['at']}: {fallback['detail']}",
        }
    return {"status": "ok", "engine": engine}


def health_report() -> HealthReport:
    """Check the database, PostGIS, pending migrations, Redis and the road engine; never
    raises. "degraded" (the road engine) still serves: the probe answers 200."""
    checks: dict[str, CheckResult] = {"database": _check_database()}
    if checks["database"]["status"] == "ok":
        checks["postgis"] = _check_postgis()
        checks["migrations"] = _check_migrations()
    else:
        unreachable: CheckResult = {"status": "error", "detail": "database unreachable"}
        checks["postgis"] = unreachable
        checks["migrations"] = unreachable
    checks["redis"] = _check_redis()
    checks["roads"] = _check_roads()
    statuses = {check["status"] for check in checks.values()}
    if "error" in statuses:
        return {"status": "error", "checks": checks}
    return {"status": "degraded" if "degraded" in statuses else "ok", "checks": checks}
