from rest_framework import serializers

# The outcome of a health check (named in the API schema as HealthStatusEnum).
HEALTH_STATUS = ["ok", "degraded", "error"]


class HealthCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HEALTH_STATUS)
    detail = serializers.CharField(required=False, help_text="The cause, when the check failed.")
    version = serializers.CharField(required=False, help_text="PostGIS library version.")
    pending = serializers.IntegerField(required=False, help_text="Unapplied migrations.")
    engine = serializers.CharField(
        required=False, help_text="The travel engine configured (osrm, osrm-http or haversine)."
    )


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HEALTH_STATUS)
    checks = serializers.DictField(
        child=HealthCheckSerializer(),
        help_text="One entry each for database, postgis, migrations, redis and roads.",
    )
