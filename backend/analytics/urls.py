"""Routes of the analytics app: the manager API (mounted under /api/v1/) and the dashboard
pages (mounted under /manager/)."""

from django.urls import path

from backend.analytics import apis, views

_ATTENTION = "manager/stores/<int:store_id>/attention/<int:request_id>"

manager_api_urlpatterns = [
    path(
        "manager/stores/<int:store_id>/kpis/",
        apis.ManagerStoreKpisApi.as_view(),
        name="manager-store-kpis",
    ),
    path(
        "manager/stores/<int:store_id>/attention/",
        apis.ManagerStoreAttentionApi.as_view(),
        name="manager-store-attention",
    ),
    path(
        f"{_ATTENTION}/raise-fee/",
        apis.ManagerAttentionRaiseFeeApi.as_view(),
        name="manager-attention-raise-fee",
    ),
    path(
        f"{_ATTENTION}/hand-to-vans/",
        apis.ManagerAttentionHandToVansApi.as_view(),
        name="manager-attention-hand-to-vans",
    ),
    path(
        f"{_ATTENTION}/cancel/",
        apis.ManagerAttentionCancelApi.as_view(),
        name="manager-attention-cancel",
    ),
    path(
        "manager/stores/<int:store_id>/export/requests.csv",
        apis.ManagerStoreRequestsCsvApi.as_view(),
        name="manager-store-requests-csv",
    ),
    path(
        "manager/stores/<int:store_id>/export/kpis.csv",
        apis.ManagerStoreKpisCsvApi.as_view(),
        name="manager-store-kpis-csv",
    ),
]

app_name = "analytics"
urlpatterns = [
    path("login/", views.ManagerLoginView.as_view(), name="login"),
    path("logout/", views.ManagerLogoutView.as_view(), name="logout"),
    path("", views.store_list, name="stores"),
    path("stores/<int:store_id>/", views.dashboard, name="dashboard"),
    path("map/base.pmtiles", views.map_tiles, name="map-tiles"),
    path(
        "stores/<int:store_id>/attention/<int:request_id>/<str:action>/",
        views.attention_action,
        name="attention-action",
    ),
    path(
        "stores/<int:store_id>/drivers/<int:user_id>/<str:action>/",
        views.driver_action,
        name="driver-action",
    ),
    path("stores/<int:store_id>/export/requests.csv", views.requests_csv, name="requests-csv"),
    path("stores/<int:store_id>/export/kpis.csv", views.kpis_csv, name="kpis-csv"),
]
