"""Which demo region file a name stands for, and which travel engine the file is meant for.
Plain Python: the settings read it before Django is set up."""

import json
from pathlib import Path

REGIONS = Path("fixtures") / "demo"


def region_path(name: str, root: Path) -> Path:
    """``fixtures/demo/<name>.json``, or ``name`` itself when it is a path to a ``.json`` file
    (relative to ``root``, the repository)."""
    if name.endswith(".json"):
        return Path(name) if Path(name).is_absolute() else root / name
    return root / REGIONS / f"{name}.json"


def demo_travel_engine(path: Path, *, osrm_data: str) -> str:
    """The TRAVEL_ENGINE a region file is meant for: ``osrm`` (in process, on the prepared road
    data at ``osrm_data``) for a region built from an extract, when there is road data;
    ``haversine`` otherwise (and when the file cannot be read: the settings must load)."""
    try:
        travel = json.loads(path.read_text()).get("travel") or {}
    except (OSError, ValueError):
        return "haversine"
    return "osrm" if travel.get("engine") == "road" and osrm_data else "haversine"
