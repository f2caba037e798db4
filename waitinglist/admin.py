from django.contrib import admin

from waitinglist.models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["ods_code", "name", "waiting_list_phone", "waiting_list_email"]
    search_fields = ["ods_code", "name"]
