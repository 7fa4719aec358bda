"""Who sees what of a delivery request: the one place that says it.

A viewer's relations to the request are matched against ``VISIBILITY``, in order; the first rule
that holds names the viewer's audience, and each audience has one shape
(``deliveries.serializers.SERIALIZER_FOR_AUDIENCE``). When no rule holds the request is not
found (a 404, so its existence is not revealed either).

    viewer                           request states                audience  shape
    its customer                     any                           CUSTOMER  all but pickup code
    its assigned driver              assigned, picked_up           DRIVER    address, phone,
                                                                             notes, pickup code
    a manager of its store           any                           MANAGER   all but delivery code
    a driver with a live offer       open                          OFFERED   parcels, window,
                                                                             fee, drop-off area
    its assigned driver, afterwards  delivered, failed, cancelled  OFFERED   the same
    its store's staff                any                           DESK      order reference,
                                                                             parcels, pickup state,
                                                                             driver's first name
    anyone else                                                    -         not found

Store staff are often drivers too: a staff member who is the request's assigned driver, or holds
a live offer for it, matches that rule first. Managers keep the manager shape in every state
(except while driving the request themselves, when they see what its driver sees).

The drop-off area (``dropoff_area``) is the one coarse location anyone but the customer, the
assigned driver and the store's managers learns, and every detour or fee shown to a driver who
is not assigned is computed to it, never to the exact drop-off (``matching.selectors``
``ShownDetour``): however many trips a driver declares, what they are shown is the same for every
drop-off in the area.
"""

import math
from collections.abc import Callable

from django.contrib.gis.geos import Point

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.stores.models import StoreMembership
from backend.stores.selectors import store_role


class Audience:
    CUSTOMER = "customer"
    DRIVER = "driver"
    OFFERED = "offered"
    DESK = "desk"
    MANAGER = "manager"


class Relation:
    """How a person can stand to a request."""

    CUSTOMER = "customer"
    ASSIGNED_DRIVER = "assigned driver"
    MANAGER = "store manager"
    OFFERED_DRIVER = "driver with a live offer"
    STAFF = "store staff"


ANY_STATE = frozenset(RequestState.values)
ACTIVE = frozenset({RequestState.ASSIGNED, RequestState.PICKED_UP})

# (relation, states, audience): the first rule whose relation the viewer has while the request is
# in one of the states decides. The table in the module docstring and in the README is this one.
VISIBILITY: tuple[tuple[str, frozenset[str], str], ...] = (
    (Relation.CUSTOMER, ANY_STATE, Audience.CUSTOMER),
    # The address and phone are the driver's only while the delivery is theirs to make.
    (Relation.ASSIGNED_DRIVER, ACTIVE, Audience.DRIVER),
    (Relation.MANAGER, ANY_STATE, Audience.MANAGER),
    (Relation.OFFERED_DRIVER, frozenset({RequestState.OPEN}), Audience.OFFERED),
    (Relation.ASSIGNED_DRIVER, ANY_STATE - ACTIVE, Audience.OFFERED),
    (Relation.STAFF, ANY_STATE, Audience.DESK),
)


def audience_of(*, request: DeliveryRequest, user: User, offered: bool = False) -> str:
    """Which audience ``user`` is for ``request`` (see ``VISIBILITY``). ``offered``: the user
    holds a live offer for it (matching knows). Raises DoesNotExist for anyone with no business
    seeing it (so its existence is not revealed)."""
    role: list[str | None] = []

    def membership() -> str | None:  # one query, and only for the rules that need it
        if not role:
            role.append(store_role(user=user, store_id=request.store_id))
        return role[0]

    holds: dict[str, Callable[[], bool]] = {
        Relation.CUSTOMER: lambda: request.customer_id == user.pk,
        Relation.ASSIGNED_DRIVER: lambda: request.assigned_driver_id == user.pk,
        Relation.MANAGER: lambda: membership() == StoreMembership.Role.MANAGER,
        Relation.OFFERED_DRIVER: lambda: offered,
        Relation.STAFF: lambda: membership() is not None,
    }
    for relation, states, audience in VISIBILITY:
        if request.state in states and holds[relation]():
            return audience
    raise DeliveryRequest.DoesNotExist()


# --- the drop-off area ------------------------------------------------------------------------

# Degrees the drop-off is rounded to: 0.01 degree is about 1.1 km north-south and, at Lyon's
# latitude, 0.78 km east-west.
AREA_DECIMALS = 2


def dropoff_area(point: Point) -> Point:
    """The drop-off as drivers who are not assigned see it: rounded to ``AREA_DECIMALS``, the
    centre of a cell about 1 km across that holds every drop-off shown alike."""
    return Point(round(point.x, AREA_DECIMALS), round(point.y, AREA_DECIMALS), srid=4326)


def area_radius_m(point: Point) -> float:
    """How far a drop-off in the area around ``point`` can lie from the area's centre: half the
    cell's diagonal, in metres (spherical Earth)."""
    half = 0.5 * 10**-AREA_DECIMALS
    north_m = math.radians(half) * 6_371_008.8
    east_m = north_m * math.cos(math.radians(point.y))
    return math.hypot(north_m, east_m)
