from django.contrib import admin

from verity.knowledge.models import Card, CardVersion, Collection, CollectionAccess, Flag, Folder


class AccessInline(admin.TabularInline):
    model = CollectionAccess
    extra = 0


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    inlines = [AccessInline]


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["title", "collection", "verification_state", "version", "archived_at"]
    list_filter = ["collection", "verification_state"]
    search_fields = ["title", "external_id"]
    raw_id_fields = ["owner", "verifier_user", "last_verified_by", "updated_by"]
    readonly_fields = ["content_html", "version"]


admin.site.register(Folder)
admin.site.register(Flag)
admin.site.register(CardVersion)
