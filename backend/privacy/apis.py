"""HTTP for a person's rights over their data: deleting the account, downloading the data."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.apis import MeApi
from backend.accounts.auth import user_of
from backend.core.schema import raises
from backend.deliveries.errors import AccountHasActiveDeliveries
from backend.privacy import services
from backend.privacy.selectors import user_data_export
from backend.privacy.serializers import DataExportSerializer


# ``/me/``: the account's own view, and its deletion, which reaches into every app. (A comment,
# not a docstring: a view's docstring would become the operations' description in the schema.)
class MeWithErasureApi(MeApi):
    @extend_schema(
        tags=["me"],
        responses={204: None},
        summary="Delete my account (personal data erased, history kept anonymous)",
    )
    @raises(AccountHasActiveDeliveries)
    def delete(self, request: Request) -> Response:
        services.user_erase(user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    @extend_schema(
        tags=["me"],
        responses=DataExportSerializer,
        summary="Download everything held about me (JSON)",
    )
    def get(self, request: Request) -> Response:
        response = Response(user_data_export(user=user_of(request)))
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return response
