"""Input and output shapes of the manager analytics API. The KPI definitions of selectors.py
are the fields' help texts, so they appear in the API schema."""

import dataclasses
from datetime import date, timedelta
from typing import Any

from rest_framework import serializers

from backend.analytics.selectors import DEFINITIONS, GRANULARITIES, KpiTotals

MAX_RANGE_DAYS = 731
# Days outside these are refused by name: no store has data there, and the date arithmetic of a
# period (weeks, months, the day after the end) would overflow near year 1 or 9999.
EARLIEST_DAY = date(2000, 1, 1)
MAX_DAYS_AHEAD = 366


class KpiQuerySerializer(serializers.Serializer):
    """``from`` and ``to``: store-local dates, inclusive (default: the last 30 days)."""

    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # ``from`` is a Python keyword: declared here rather than as a class attribute.
        fields["from"] = serializers.DateField(
            required=False, help_text="First store-local day (default: 29 days before `to`)."
        )
        fields["to"] = serializers.DateField(
            required=False, help_text="Last store-local day, inclusive (default: today)."
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today: date = self.context["today"]
        latest = today + timedelta(days=MAX_DAYS_AHEAD)
        out_of_range = {
            name: f"`{name}` must be between {EARLIEST_DAY} and {latest}."
            for name in ("from", "to")
            if attrs.get(name) is not None and not EARLIEST_DAY <= attrs[name] <= latest
        }
        if out_of_range:
            raise serializers.ValidationError(out_of_range)
        end = attrs.get("to") or today
        start = attrs.get("from") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"from": "`from` must not be after `to`."})
        if (end - start).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"from": f"At most {MAX_RANGE_DAYS} days at a time."})
        return {"start": start, "end": end, "granularity": attrs["granularity"]}


def _kpi_field(field: dataclasses.Field[Any]) -> serializers.Field:
    help_text = str(DEFINITIONS.get(field.name, ""))
    if field.type is int:
        return serializers.IntegerField(help_text=help_text)
    if field.type is float:
        return serializers.FloatField(help_text=help_text)
    return serializers.FloatField(allow_null=True, help_text=help_text)


KpiTotalsSerializer: type[serializers.Serializer] = type(
    "KpiTotalsSerializer",
    (serializers.Serializer,),
    {f.name: _kpi_field(f) for f in dataclasses.fields(KpiTotals)}
    | {"__doc__": "KPIs of a period. Rates are fractions (0..1), null where the base is 0."},
)


class KpiPeriodSerializer(KpiTotalsSerializer):  # type: ignore[valid-type,misc]
    period_start = serializers.DateField(help_text="First store-local day of the period.")
    period_end = serializers.DateField(help_text="Last store-local day of the period.")


class HistogramBucketSerializer(serializers.Serializer):
    from_s = serializers.IntegerField()
    to_s = serializers.IntegerField(allow_null=True, help_text="Exclusive; null: no bound.")
    count = serializers.IntegerField()


class TopResponderSerializer(serializers.Serializer):
    driver_id = serializers.IntegerField()
    name = serializers.CharField()
    responses = serializers.IntegerField()
    is_staff = serializers.BooleanField()


class KpiReportSerializer(serializers.Serializer):
    store_id = serializers.IntegerField()
    timezone = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.ChoiceField(choices=GRANULARITIES)
    reference_response_rate = serializers.FloatField(
        help_text="Reference line from the field: 70 % of postings get a response."
    )
    reference_responses_per_posting = serializers.FloatField(
        help_text="Reference line from the field: 2.8 responses per posting."
    )
    totals = KpiTotalsSerializer()
    series = KpiPeriodSerializer(many=True)
    first_response_histogram = HistogramBucketSerializer(many=True)
    top_responders = TopResponderSerializer(many=True)


class AttentionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_reference = serializers.CharField()
    dropoff_address = serializers.CharField()
    created_at = serializers.DateTimeField()
    age_s = serializers.IntegerField(help_text="Seconds since posting.")
    fee_eur = serializers.DecimalField(max_digits=6, decimal_places=2)
    fee_max_eur = serializers.DecimalField(
        max_digits=6, decimal_places=2, source="store.fee_max_eur"
    )
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    handed_to_vans = serializers.BooleanField()


class AttentionListSerializer(serializers.Serializer):
    after_s = serializers.IntegerField(
        help_text="Open requests with no response this long after posting are listed."
    )
    count = serializers.IntegerField()
    results = AttentionItemSerializer(many=True)


class AttentionCancelInputSerializer(serializers.Serializer):
    message = serializers.CharField(
        max_length=300, help_text="Sent to the customer with the cancellation."
    )


class AttentionActionResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    fee_eur = serializers.DecimalField(max_digits=6, decimal_places=2)
    handed_to_vans = serializers.BooleanField()
