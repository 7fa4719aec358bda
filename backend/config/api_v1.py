"""The mobile API, version 1: every route under /api/v1/."""

from django.urls import path

from backend.accounts import apis as accounts
from backend.analytics import urls as analytics_urls
from backend.deliveries import apis as deliveries
from backend.matching import apis as matching
from backend.privacy import apis as privacy
from backend.stores import apis as stores

urlpatterns = [
    # Auth (JWT): register, obtain a token pair, refresh with rotation, log out; the password.
    path("auth/register/", accounts.RegisterApi.as_view(), name="auth-register"),
    path(
        "auth/password/change/", accounts.PasswordChangeApi.as_view(), name="auth-password-change"
    ),
    path("auth/password/reset/", accounts.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm/",
        accounts.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/token/", accounts.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", accounts.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", accounts.LogoutApi.as_view(), name="auth-logout"),
    # Me
    path("me/", privacy.MeWithErasureApi.as_view(), name="me"),
    path("me/export/", privacy.MeExportApi.as_view(), name="me-export"),
    path("me/driver-profile/", accounts.DriverProfileApi.as_view(), name="me-driver-profile"),
    path(
        "me/driver-profile/identity/",
        accounts.DriverIdentityApi.as_view(),
        name="me-driver-identity",
    ),
    # Stores
    path("stores/", stores.StoreListApi.as_view(), name="store-list"),
    path("stores/<int:pk>/", stores.StoreDetailApi.as_view(), name="store-detail"),
    # Delivery requests (customers)
    path("delivery-requests/", matching.RequestListCreateApi.as_view(), name="request-list"),
    path(
        "delivery-requests/<int:request_id>/",
        matching.RequestDetailApi.as_view(),
        name="request-detail",
    ),
    path(
        "delivery-requests/<int:request_id>/cancel/",
        matching.RequestCancelApi.as_view(),
        name="request-cancel",
    ),
    path(
        "delivery-requests/<int:request_id>/responders/",
        matching.RequestRespondersApi.as_view(),
        name="request-responders",
    ),
    path(
        "delivery-requests/<int:request_id>/choose/",
        matching.RequestChooseApi.as_view(),
        name="request-choose",
    ),
    path(
        "delivery-requests/<int:request_id>/rating/",
        deliveries.RequestRatingApi.as_view(),
        name="request-rating",
    ),
    # Delivery steps (the assigned driver; the position is read by the customer). The pickup is
    # the store's: its desk confirms it with the driver's pass (below).
    path(
        "delivery-requests/<int:request_id>/deliver/",
        deliveries.RequestDeliverApi.as_view(),
        name="request-deliver",
    ),
    path(
        "delivery-requests/<int:request_id>/deliver/photo/",
        deliveries.RequestDeliverPhotoApi.as_view(),
        name="request-deliver-photo",
    ),
    path(
        "delivery-requests/<int:request_id>/proof-photo/",
        deliveries.RequestProofPhotoApi.as_view(),
        name="request-proof-photo",
    ),
    path(
        "delivery-requests/<int:request_id>/fail/",
        matching.RequestFailApi.as_view(),
        name="request-fail",
    ),
    path(
        "delivery-requests/<int:request_id>/position/",
        deliveries.RequestPositionApi.as_view(),
        name="request-position",
    ),
    path("driver/deliveries/", deliveries.DriverDeliveriesApi.as_view(), name="driver-deliveries"),
    # Trips and offers (drivers)
    path("trips/", matching.TripListCreateApi.as_view(), name="trip-list"),
    path("trips/<int:trip_id>/", matching.TripDetailApi.as_view(), name="trip-detail"),
    path("trips/<int:trip_id>/cancel/", matching.TripCancelApi.as_view(), name="trip-cancel"),
    path(
        "trips/<int:trip_id>/opportunities/",
        matching.TripOpportunitiesApi.as_view(),
        name="trip-opportunities",
    ),
    path(
        "trips/<int:trip_id>/opportunities/<int:request_id>/respond/",
        matching.TripOpportunityRespondApi.as_view(),
        name="trip-opportunity-respond",
    ),
    path(
        "commute-profiles/",
        matching.CommuteProfileListCreateApi.as_view(),
        name="commute-profile-list",
    ),
    path(
        "commute-profiles/<int:pk>/",
        matching.CommuteProfileDetailApi.as_view(),
        name="commute-profile-detail",
    ),
    path("offers/", matching.OfferListApi.as_view(), name="offer-list"),
    path("offers/<int:offer_id>/", matching.OfferDetailApi.as_view(), name="offer-detail"),
    path(
        "offers/<int:offer_id>/respond/", matching.OfferRespondApi.as_view(), name="offer-respond"
    ),
    path(
        "offers/<int:offer_id>/decline/", matching.OfferDeclineApi.as_view(), name="offer-decline"
    ),
    # The store's pickup desk (its staff and managers)
    path(
        "desk/requests/<int:request_id>/pickup/",
        deliveries.DeskPickupApi.as_view(),
        name="desk-pickup",
    ),
    # Store managers
    path(
        "manager/stores/<int:store_id>/policy/",
        stores.ManagerStorePolicyApi.as_view(),
        name="manager-store-policy",
    ),
    path(
        "manager/stores/<int:store_id>/requests/",
        deliveries.ManagerStoreRequestsApi.as_view(),
        name="manager-store-requests",
    ),
    path(
        "manager/stores/<int:store_id>/drivers/",
        accounts.ManagerStoreDriversApi.as_view(),
        name="manager-store-drivers",
    ),
    path(
        "manager/stores/<int:store_id>/drivers/<int:user_id>/<str:decision>/",
        accounts.ManagerStoreDriverDecisionApi.as_view(),
        name="manager-store-driver-decision",
    ),
    path(
        "manager/stores/<int:store_id>/van-plan/",
        matching.ManagerVanPlanApi.as_view(),
        name="manager-store-van-plan",
    ),
    path(
        "manager/requests/<int:request_id>/cancel/",
        matching.ManagerRequestCancelApi.as_view(),
        name="manager-request-cancel",
    ),
    path(
        "manager/requests/<int:request_id>/review/",
        deliveries.ManagerRequestReviewApi.as_view(),
        name="manager-request-review",
    ),
]

# Store managers: analytics (KPIs, needs attention, CSV exports)
urlpatterns += analytics_urls.manager_api_urlpatterns
