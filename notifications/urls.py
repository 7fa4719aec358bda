from django.urls import path

from notifications import apis

app_name = "notifications"

urlpatterns = [
    path("devices/", apis.DeviceListCreateApi.as_view(), name="devices"),
    path("devices/<str:token>/", apis.DeviceDetailApi.as_view(), name="device"),
    path("notifications/", apis.InboxListApi.as_view(), name="inbox"),
    path("notifications/read-all/", apis.InboxMarkAllReadApi.as_view(), name="inbox-read-all"),
    path("notifications/unread-count/", apis.InboxUnreadCountApi.as_view(), name="inbox-unread"),
    path("notifications/preferences/", apis.PreferenceApi.as_view(), name="preferences"),
    path("notifications/<int:pk>/", apis.InboxDetailApi.as_view(), name="inbox-item"),
    path("notifications/<int:pk>/read/", apis.InboxMarkReadApi.as_view(), name="inbox-item-read"),
]
