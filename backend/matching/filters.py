import django_filters

from backend.matching.models import Offer, OfferState, Trip


class OfferFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=OfferState.choices)

    class Meta:
        model = Offer
        fields = ["state", "trip"]


class TripFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Trip.State.choices)

    class Meta:
        model = Trip
        fields = ["state", "store"]
