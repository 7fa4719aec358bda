"""Ops screens: devices, inbox, and the outbox with what is stuck and a resend action."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications import services
from notifications.models import Device, InboxItem, NotificationPreference, OutboxMessage


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "platform",
        "app_version",
        "language",
        "is_active",
        "last_seen_at",
    )
    list_filter = ("is_active", "platform")
    search_fields = ("user__email", "token")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "deactivated_at", "deactivation_reason")
    list_select_related = ("user",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "quiet_hours_start", "quiet_hours_end", "time_zone", "updated_at")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    list_select_related = ("user",)


class OutboxInline(admin.TabularInline):
    model = OutboxMessage
    extra = 0
    can_delete = False
    fields = ("device", "state", "attempts", "next_attempt_at", "fcm_message_id", "last_error")
    readonly_fields = fields


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "event", "title", "created_at", "read_at")
    list_filter = ("event",)
    search_fields = ("user__email", "title")
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"
    inlines = [OutboxInline]
    list_select_related = ("user",)


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Overdue or lease ran out")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage]
    ) -> QuerySet[OutboxMessage]:
        if self.value() != "yes":
            return queryset
        now = timezone.now()
        return queryset.filter(
            Q(state=OutboxMessage.State.PENDING, next_attempt_at__lt=now - timedelta(minutes=5))
            | Q(state=OutboxMessage.State.SENDING, claimed_until__lt=now)
        )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "inbox_item",
        "device",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("state", StuckFilter)
    search_fields = ("fcm_message_id", "inbox_item__user__email")
    raw_id_fields = ("inbox_item", "device")
    list_select_related = ("inbox_item", "device")
    readonly_fields = (
        "inbox_item",
        "device",
        "state",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "fcm_message_id",
        "last_error",
        "sent_at",
        "created_at",
        "updated_at",
    )
    actions = ["resend"]

    @admin.action(description="Send again (not already sent)")
    def resend(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = services.outbox_requeue(outbox_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
