from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.selectors import health_report
from backend.core.serializers import HealthSerializer


class HealthApi(APIView):
    """Liveness and readiness for load balancers and the engineer on call."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []  # probes must never be rate limited

    @extend_schema(
        operation_id="healthz",
        tags=["operations"],
        responses={200: HealthSerializer, 503: HealthSerializer},
        summary="Health of the database, PostGIS, migrations, Redis and the road engine",
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        return Response(report, status=503 if report["status"] == "error" else 200)
