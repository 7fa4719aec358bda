import django_filters

from backend.deliveries.models import DeliveryRequest, RequestState


class RequestFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=RequestState.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    review_required = django_filters.BooleanFilter()

    class Meta:
        model = DeliveryRequest
        fields = ["state", "created_after", "created_before", "review_required"]
