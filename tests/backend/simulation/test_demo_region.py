"""The demo region: Monaco on its bundled road extract by default, Lyon on the straight-line
model as the alternative, built by a deterministic builder that works from any extract."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from backend.matching.models import CommuteProfile
from backend.simulation.demo import (
    demo_load,
    region,
    region_file,
    travel_note,
    travel_warnings,
)
from backend.simulation.regions import demo_travel_engine, region_path
from backend.stores.models import Store
from routing.travel import HaversineTravel

ROOT = Path(__file__).resolve().parents[3]
BUILDER = ROOT / "fixtures" / "demo" / "build_region.py"


def test_the_default_region_is_monaco_on_the_roads_of_its_bundled_extract() -> None:
    data = region()
    assert region_file().name == "monaco.json"
    assert data["travel"]["engine"] == "road"
    extract = ROOT / data["extract"]["path"]
    assert extract.name == "monaco-region.osm.pbf"
    assert hashlib.sha256(extract.read_bytes()).hexdigest() == data["extract"]["sha256"]
    assert "monaco-region.osm.pbf" in travel_note(data)
    # Stores in Monaco and the French communes around it, with their postcodes.
    assert {s["address"].rsplit(", ", 1)[-1][:5] for s in data["stores"]} <= {
        "98000",
        "06240",
        "06320",
        "06360",
        "06190",
    }
    assert {s["assignment_mode"] for s in data["stores"]} == {
        "first_response",
        "customer_choice",
        "best_match",
    }


def test_every_customer_and_home_is_within_reach_of_its_store() -> None:
    data = region()
    stores = {s["key"]: (s["lat"], s["lng"]) for s in data["stores"]}
    straight = HaversineTravel(speed_kmh=30.0, circuity=1.0)

    def km(a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(straight.paired(a, b).distance_m) / 1000.0  # type: ignore[arg-type]

    for customer in data["customers"]:
        assert km((customer["lat"], customer["lng"]), stores[customer["store"]]) < 20.0
    for driver in data["drivers"]:
        home = (driver["home_lat"], driver["home_lng"])
        assert 2.0 <= km(home, stores[driver["store"]]) <= 25.0


@override_settings(DEMO_REGION="lyon")
def test_lyon_is_the_alternative_and_says_it_runs_on_the_straight_line_model() -> None:
    data = region()
    assert region_file().name == "lyon.json"
    assert data["extract"] is None
    assert data["travel"]["engine"] == "straight_line"
    assert "straight-line model" in travel_note(data)


@override_settings(DEMO_REGION="atlantis")
def test_an_unknown_region_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"atlantis.*lyon, monaco"):
        region()


def test_make_run_plays_each_region_on_the_engine_its_file_is_meant_for() -> None:
    monaco, lyon = region_path("monaco", ROOT), region_path("lyon", ROOT)
    assert demo_travel_engine(monaco, osrm_data=".local/osrm/monaco-region.osrm") == "osrm"
    assert demo_travel_engine(monaco, osrm_data="") == "haversine"  # no road data prepared
    assert demo_travel_engine(lyon, osrm_data=".local/osrm/monaco-region.osrm") == "haversine"
    assert region_path("elsewhere/mine.json", ROOT) == ROOT / "elsewhere" / "mine.json"


def test_a_region_on_travel_times_it_is_not_meant_for_is_warned_about(
    settings, monaco_osrm: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monaco = region()
    settings.TRAVEL_ENGINE = "osrm"
    settings.OSRM_DATA = str(monaco_osrm)
    assert travel_warnings(monaco) == []
    other = tmp_path / "elsewhere.osrm"
    other.with_name("elsewhere.osrm.meta.json").write_text(
        json.dumps({"extract_sha256": "0" * 64, "top_speed_kmh": 50.0})
    )
    settings.OSRM_DATA = str(other)
    (warning,) = travel_warnings(monaco)
    assert "another extract" in warning
    settings.TRAVEL_ENGINE = "haversine"
    (warning,) = travel_warnings(monaco)
    assert "straight-line model is used" in warning
    settings.DEMO_REGION = "lyon"
    assert travel_warnings(region()) == []
    settings.TRAVEL_ENGINE = "osrm"
    (warning,) = travel_warnings(region())
    assert "TRAVEL_ENGINE=haversine" in warning


@pytest.mark.django_db
@override_settings(DEMO_REGION="lyon")
def test_seed_demo_loads_the_chosen_region_and_says_how_it_travels() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Lyon metropolitan area" in out.getvalue()
    assert "straight-line model" in out.getvalue()
    assert set(Store.objects.values_list("name", flat=True)) == {
        s["name"] for s in region()["stores"]
    }


@pytest.mark.django_db
def test_only_store_staff_get_a_commute_profile_at_their_own_store() -> None:
    demo_load()
    data = region()
    staff = {d["email"]: d["store"] for d in data["drivers"] if d["staff"]}
    names = {s["key"]: s["name"] for s in data["stores"]}
    profiles = CommuteProfile.objects.select_related("driver", "store")
    assert {p.driver.email: p.store.name for p in profiles} == {
        email: names[key] for email, key in staff.items()
    }


def test_the_builder_rewrites_the_bundled_monaco_region_exactly(tmp_path: Path) -> None:
    out = tmp_path / "monaco.json"
    config = ROOT / "fixtures" / "demo" / "monaco.toml"
    subprocess.run(
        [sys.executable, str(BUILDER), str(config), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert out.read_bytes() == (ROOT / "fixtures" / "demo" / "monaco.json").read_bytes()


def test_the_builder_makes_a_region_from_any_extract_and_another_seed_other_people(
    tmp_path: Path,
) -> None:
    """Central Nantes, with only counts described: stores at its commercial sites, people on
    its streets, addresses without a commune."""
    extract = ROOT / "fixtures" / "osm" / "nantes-centre.osm.pbf"
    config = tmp_path / "nantes.toml"
    config.write_text('name = "Nantes"\ncustomers = 30\ndrivers = 10\nstaff = 3\n')
    built = []
    for seed in (1, 2):
        out = tmp_path / f"nantes-{seed}.json"
        subprocess.run(
            [sys.executable, str(BUILDER), str(config), "--extract", str(extract)]
            + ["--out", str(out), "--seed", str(seed)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        built.append(json.loads(out.read_text()))
    first, second = built
    assert first["name"] == "Nantes"
    assert first["travel"] == {
        "engine": "road",
        "provider": "osrm",
        "profile": "car",
        "extract": "fixtures/osm/nantes-centre.osm.pbf",
    }
    # The one commercial land use first, then car parks (the extract tags no retail).
    assert [s["site"]["kind"] for s in first["stores"]] == ["commercial", "car park", "car park"]
    assert (len(first["customers"]), len(first["drivers"])) == (30, 10)
    assert sum(d["staff"] for d in first["drivers"]) == 3
    assert all(", " not in c["address"] for c in first["customers"])  # "12 Rue Lafayette"
    assert first["stores"] == second["stores"]  # the sites do not depend on the seed
    assert first["customers"] != second["customers"]
    lats = [c["lat"] for c in first["customers"]]
    assert 47.19 < min(lats) < max(lats) < 47.23  # inside the extract
