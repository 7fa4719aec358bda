from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from backend.stores.models import Store, StoreMembership


class MembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Store)
class StoreAdmin(GISModelAdmin):
    list_display = ("name", "address", "assignment_mode", "offer_fanout_k", "service_radius_m")
    list_filter = ("assignment_mode",)
    search_fields = ("name", "address")
    inlines = [MembershipInline]
