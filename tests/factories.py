"""factory_boy factories for the domain. Points are around a store in Lyon."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.accounts.models import DriverProfile, DriverStatus, User
from backend.deliveries.models import DeliveryRequest, Parcel
from backend.matching.geometry import trip_reaches
from backend.matching.models import Offer, Trip
from backend.stores.models import Store, StoreMembership

STORE_LAT, STORE_LNG = 45.7300, 4.8800  # a retail park east of Lyon


def point(lat: float, lng: float) -> Point:
    return Point(lng, lat, srid=4326)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    phone = "+33 6 12 34 56 78"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):  # type: ignore[no-untyped-def]
        if create:
            instance.save()


class DriverFactory(UserFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    profile = factory.RelatedFactory(
        "tests.factories.DriverProfileFactory", factory_related_name="user"
    )


class DriverProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DriverProfile

    user = factory.SubFactory(UserFactory)
    vehicle_type = DriverProfile.VehicleType.ESTATE
    capacity_kg = Decimal("200")
    capacity_l = Decimal("1500")
    max_length_cm = 200
    # Most tests are about drivers who may drive; the onboarding tests make pending ones.
    status = DriverStatus.APPROVED


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    address = "1 Avenue de la Porte, Lyon"
    location = factory.LazyFunction(lambda: point(STORE_LAT, STORE_LNG))
    service_radius_m = 20_000


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreMembership

    store = factory.SubFactory(StoreFactory)
    user = factory.SubFactory(UserFactory)
    role = StoreMembership.Role.MANAGER


class DeliveryRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryRequest
        skip_postgeneration_save = True

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(UserFactory)
    order_reference = factory.Sequence(lambda n: f"ORD-{n:06d}")
    dropoff_address = "12 Rue des Tilleuls, Villeurbanne"
    dropoff_point = factory.LazyFunction(lambda: point(45.7600, 4.8800))  # ~3.3 km north
    contact_phone = "+33 6 98 76 54 32"
    window_start = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=30))
    window_end = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=3))
    fee_eur = Decimal("5.00")
    parcel = factory.RelatedFactory("tests.factories.ParcelFactory", factory_related_name="request")


class ParcelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Parcel

    request = factory.SubFactory(DeliveryRequestFactory)
    weight_kg = Decimal("20.0")
    volume_l = Decimal("100.0")
    longest_side_cm = 120


class TripFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trip
        skip_postgeneration_save = True

    driver = factory.SubFactory(DriverFactory)
    store = factory.SubFactory(StoreFactory)
    service_date = factory.LazyFunction(lambda: timezone.now().date())
    departure_earliest = factory.LazyFunction(lambda: timezone.now())
    departure_latest = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    destination = factory.LazyFunction(lambda: point(45.7800, 4.8800))  # ~5.6 km north
    direct_m = 5560
    capacity_kg = Decimal("200")
    capacity_l = Decimal("1500")
    max_length_cm = 200
    max_detour_s = 900

    class Params:
        # What the service computes on creation, with the travel model configured.
        reach = factory.LazyAttribute(
            lambda trip: trip_reaches(
                store=trip.store.location, homes=[trip.destination], budgets_s=[trip.max_detour_s]
            )[0]
        )

    direct_s = factory.LazyAttribute(lambda trip: trip.reach.direct_s)
    reach_m = factory.LazyAttribute(lambda trip: trip.reach.reach_m)
    reach_area = factory.LazyAttribute(lambda trip: trip.reach.area)


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    request = factory.SubFactory(DeliveryRequestFactory)
    trip = factory.SubFactory(TripFactory, store=factory.SelfAttribute("..request.store"))
    detour_s = 120
    detour_m = 1000
    fee_eur = Decimal("5.00")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))
