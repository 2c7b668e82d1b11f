"""What every read-only admin shares."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Records that only the shop's own code writes: staff look, never edit."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
