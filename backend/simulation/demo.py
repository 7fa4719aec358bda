"""The demo region (``DEMO_REGION``: ``fixtures/demo/monaco.json`` by default) loaded through the
domain's own models, idempotently: a second load updates what is there and creates nothing twice.

A region file says which travel engine it is meant for: ``road`` (with the extract it was built
from, ``fixtures/demo/build_region.py``) or ``straight_line`` (the Lyon region, which has no
bundled extract).

The demo accounts include a superuser, and every one has the password published in the fixture:
they load only with DEBUG on (``make run``'s dev settings) or DEMO_DATA_ALLOWED set, which the
prod settings refuse."""

import json
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from backend.accounts.models import DriverDecision, DriverProfile, User
from backend.accounts.services import driver_decide
from backend.matching.models import CommuteProfile, Van
from backend.simulation.regions import REGIONS, region_path
from backend.stores.models import Store, StoreMembership
from routing.roads import TravelUnavailable, read_prepared

REGIONS_DIR = Path(settings.ROOT_DIR) / REGIONS
WORKING_DAYS = [0, 1, 2, 3, 4, 5]  # Monday to Saturday


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    note: str


class DemoDataRefused(Exception):
    """Demo accounts were asked for where they must not be (DEBUG off, DEMO_DATA_ALLOWED unset)."""


def demo_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "DEMO_DATA_ALLOWED", False))


def region_file() -> Path:
    """The region file DEMO_REGION names: ``fixtures/demo/<name>.json``, or a path to a JSON
    file (relative to the repository). Raises ImproperlyConfigured if there is none."""
    name = str(settings.DEMO_REGION)
    path = region_path(name, Path(settings.ROOT_DIR))
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in REGIONS_DIR.glob("*.json")))
        raise ImproperlyConfigured(
            f"DEMO_REGION={name!r}: no region file {path.name} (known regions: {known})"
        )
    return path


def region() -> dict[str, Any]:
    return json.loads(region_file().read_text())


def travel_note(data: dict[str, Any]) -> str:
    """Which travel times the region is meant for, in a sentence."""
    travel = data.get("travel") or {"engine": "straight_line"}
    if travel["engine"] == "road":
        return (
            f"Travel times: on the roads of {travel['extract']} "
            f"({travel.get('provider', 'osrm')}, {travel.get('profile', 'car')} profile)."
        )
    note = travel.get("note") or "This region has no road extract."
    return (
        "Travel times: the straight-line model (great-circle distance × circuity at a set "
        f"speed). {note}"
    )


def travel_warnings(data: dict[str, Any]) -> list[str]:
    """What stands between the region and the travel times it is meant for, as sentences: a
    road region on the straight-line model or on another extract's road data, a straight-line
    region (its addresses off the road data) on a road engine."""
    road = (data.get("travel") or {}).get("engine") == "road"
    engine = str(settings.TRAVEL_ENGINE)
    if road and engine == "haversine":
        return [
            "TRAVEL_ENGINE=haversine: this region is meant for road times, the straight-line "
            "model is used instead (TRAVEL_ENGINE=osrm with OSRM_DATA, as set-up prepares it)."
        ]
    if not road and engine != "haversine":
        return [
            f"TRAVEL_ENGINE={engine}: this region has no road data, so its addresses may lie off "
            "the road engine's network and be refused; set TRAVEL_ENGINE=haversine."
        ]
    if road and engine == "osrm":
        try:
            prepared = read_prepared(Path(settings.OSRM_DATA))
        except TravelUnavailable as missing:
            return [f"OSRM_DATA: {missing}."]
        if prepared.extract_sha256 != data["extract"]["sha256"]:
            return [
                f"OSRM_DATA was prepared from another extract than this region's "
                f"({data['extract']['path']}): prepare that one "
                "(python -m routing.roads prepare EXTRACT DIR) or set ROAD_EXTRACT for set-up."
            ]
    return []


def _user(email: str, full_name: str, password_hash: str, **extra: Any) -> User:
    user, _ = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "password": password_hash, **extra}
    )
    return user


def demo_load() -> list[DemoAccount]:
    """Load the demo region; return the demo accounts to show. Raises DemoDataRefused unless
    DEBUG or DEMO_DATA_ALLOWED (before touching the database)."""
    if not demo_allowed():
        raise DemoDataRefused(
            "Demo accounts (a superuser, published passwords) are for development, never for "
            "production: they load only with DEBUG on or DEMO_DATA_ALLOWED set, and the prod "
            "settings refuse both."
        )
    return _load(region())


@transaction.atomic
def _load(data: dict[str, Any]) -> list[DemoAccount]:
    password = make_password(data["demo_password"])  # hashed once for every demo account
    stores: dict[str, Store] = {}
    managers: dict[str, User] = {}
    for spec in data["stores"]:
        store, _ = Store.objects.update_or_create(
            name=spec["name"],
            defaults={
                "address": spec["address"],
                "location": Point(spec["lng"], spec["lat"], srid=4326),
                "timezone": data["timezone"],
                "service_radius_m": 20_000,
                "assignment_mode": spec["assignment_mode"],
                "offer_fanout_k": spec["offer_fanout_k"],
                **{
                    k: Decimal(spec[k])
                    for k in ("fee_base_eur", "fee_per_detour_km_eur", "fee_min_eur", "fee_max_eur")
                },
            },
        )
        stores[spec["key"]] = store
        Van.objects.get_or_create(
            store=store,
            name="Store van",
            defaults={
                "capacity_kg": Decimal(800),
                "capacity_l": Decimal(8000),
                "max_length_cm": 300,
                "shift_start": time(9, 0),
                "shift_end": time(21, 0),
                "cost_per_km_eur": Decimal("0.60"),
            },
        )
        manager = _user(
            data["accounts"]["managers"][spec["key"]], f"Manager {store.name}", password
        )
        StoreMembership.objects.get_or_create(
            store=store, user=manager, defaults={"role": StoreMembership.Role.MANAGER}
        )
        managers[spec["key"]] = manager
    ops = _user(data["accounts"]["ops"], "Ops", password, is_staff=True, is_superuser=True)
    for spec in data["customers"]:
        _user(spec["email"], spec["full_name"], password, phone=spec["phone"])
    for spec in data["drivers"]:
        driver = _user(spec["email"], spec["full_name"], password)
        DriverProfile.objects.update_or_create(
            user=driver,
            defaults={
                "vehicle_type": spec["vehicle_type"],
                "capacity_kg": Decimal(spec["capacity_kg"]),
                "capacity_l": Decimal(spec["capacity_l"]),
                "max_length_cm": spec["max_length_cm"],
            },
        )
        store = stores[spec["store"]]
        if spec["staff"]:
            StoreMembership.objects.get_or_create(
                store=store, user=driver, defaults={"role": StoreMembership.Role.STAFF}
            )
        # Approved as in a real store: staff by their store's manager, shoppers by ops.
        if not driver.driver_profile.approved:
            approver, store_id = (
                (managers[spec["store"]], stores[spec["store"]].pk)
                if spec["staff"]
                else (ops, None)
            )
            driver_decide(
                driver_id=driver.pk,
                kind=DriverDecision.Kind.APPROVED,
                by=approver,
                reason="Demo driver",
                store_id=store_id,
            )
        if spec["staff"]:  # staff drive home after their shift; shoppers when they shop
            hours, minutes = map(int, spec["shift_end"].split(":"))
            CommuteProfile.objects.update_or_create(
                driver=driver,
                store=store,
                defaults={
                    "weekdays": WORKING_DAYS,
                    "shift_end": time(hours, minutes),
                    "home": Point(spec["home_lng"], spec["home_lat"], srid=4326),
                    "max_detour_s": spec["max_detour_min"] * 60,
                    "active": True,
                },
            )
    accounts = data["accounts"]
    return [
        DemoAccount("ops (admin)", ops.email, "Django admin at /admin/"),
        DemoAccount("customer", accounts["customer"], "posts delivery requests"),
        DemoAccount("shopper driver", accounts["shopper"], "declares trips, takes offers"),
        DemoAccount("store staff", accounts["staff"], "commute profile, drives home"),
        *[
            DemoAccount(f"manager ({key})", email, "dashboard at /manager/")
            for key, email in accounts["managers"].items()
        ],
    ]
