from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from backend.accounts import services
from backend.accounts.models import DriverDecision, DriverProfile, User
from backend.core.errors import DomainError


class DriverProfileInline(admin.StackedInline):
    model = DriverProfile
    can_delete = False
    extra = 0
    readonly_fields = ("status", "identity_document", "identity_submitted_at")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "language", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "language")
    search_fields = ("email", "full_name")
    inlines = [DriverProfileInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "phone", "language", "erased_at")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined", "erased_at")


class DriverDecisionInline(admin.TabularInline):
    model = DriverDecision
    fk_name = "driver"
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "by", "store", "reason", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DriverProfile)
class DriverProfileAdmin(admin.ModelAdmin):
    """Ops' review of drivers: the identity document, then a decision that is audited."""

    list_display = ("user", "vehicle_type", "status", "identity_submitted_at", "created_at")
    list_filter = ("status", "vehicle_type")
    search_fields = ("user__email", "user__full_name")
    list_select_related = ("user",)
    # The standing changes through the decisions only (each one audited).
    readonly_fields = ("user", "status", "identity_submitted_at", "document", "rating_avg")
    exclude = ("identity_document",)
    actions = ["approve", "reject", "suspend", "reinstate"]

    @admin.display(description="Identity document")
    def document(self, profile: DriverProfile) -> str:
        if not profile.identity_document:
            return "—"
        url = reverse("admin:accounts_driverprofile_identity_document", args=[profile.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">View</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:profile_id>/identity-document/",
                self.admin_site.admin_view(self.identity_document_view),
                name="accounts_driverprofile_identity_document",
            ),
            *super().get_urls(),
        ]

    def identity_document_view(self, request: HttpRequest, profile_id: int) -> FileResponse:
        """The document, to ops who may change driver profiles; nobody else, no public URL."""
        if not self.has_change_permission(request):
            raise Http404()
        profile = DriverProfile.objects.filter(pk=profile_id).first()
        if profile is None or not profile.identity_document:
            raise Http404()
        response = FileResponse(profile.identity_document.open("rb"))
        response["Cache-Control"] = "private, no-store"
        return response

    def _decide(self, request: HttpRequest, profiles: QuerySet[DriverProfile], kind: str) -> None:
        done = 0
        for profile in profiles:
            try:
                services.driver_decide(
                    driver_id=profile.user_id,
                    kind=kind,
                    by=request.user,  # type: ignore[arg-type]
                    reason="Reviewed by ops",
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{profile.user}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} driver(s) {kind}.")

    @admin.action(description="Approve (may respond and carry)")
    def approve(self, request: HttpRequest, profiles: QuerySet[DriverProfile]) -> None:
        self._decide(request, profiles, DriverDecision.Kind.APPROVED)

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, profiles: QuerySet[DriverProfile]) -> None:
        self._decide(request, profiles, DriverDecision.Kind.REJECTED)

    @admin.action(description="Suspend")
    def suspend(self, request: HttpRequest, profiles: QuerySet[DriverProfile]) -> None:
        self._decide(request, profiles, DriverDecision.Kind.SUSPENDED)

    @admin.action(description="Reinstate")
    def reinstate(self, request: HttpRequest, profiles: QuerySet[DriverProfile]) -> None:
        self._decide(request, profiles, DriverDecision.Kind.REINSTATED)

    def get_inlines(self, request: HttpRequest, obj: object = None) -> list[type]:
        return [DriverDecisionInline]
