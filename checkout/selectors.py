"""Read-only queries about carts and orders."""

from django.db.models import Sum
from django.http import HttpRequest

from checkout.models import Cart, CartItem

SESSION_CART_KEY = "cart_id"


def cart_for_request(*, request: HttpRequest) -> Cart | None:
    """The shopper's cart without creating one: the user's, or the session's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Cart.objects.filter(user=user).first()
    cart_id = request.session.get(SESSION_CART_KEY) if hasattr(request, "session") else None
    if cart_id is None:
        return None
    return Cart.objects.filter(pk=cart_id, user__isnull=True).first()


def cart_count(*, request: HttpRequest) -> int:
    """Units in the shopper's cart, for the header. One query."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        items = CartItem.objects.filter(cart__user=user)
    else:
        cart_id = request.session.get(SESSION_CART_KEY) if hasattr(request, "session") else None
        if cart_id is None:
            return 0
        items = CartItem.objects.filter(cart_id=cart_id, cart__user__isnull=True)
    return items.aggregate(total=Sum("quantity"))["total"] or 0
