from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.core.apis import HealthApi

urlpatterns = [
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("api/v1/", include("backend.config.api_v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("notifications.urls")),
    # Store managers' dashboard (session login) and the language switch it uses
    path("manager/", include("backend.analytics.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
