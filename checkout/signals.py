"""A small decoupled hook: the anonymous cart joins the shopper's cart at login."""

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from checkout.models import Cart
from checkout.selectors import SESSION_CART_KEY
from checkout.services.cart import MergeAdjustment, cart_merge


@receiver(user_logged_in, dispatch_uid="checkout.merge_session_cart")
def merge_session_cart(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Merge the session's anonymous cart into the user's cart and forget it.

    Django keeps the session's data across login (the key is cycled, not flushed),
    so the anonymous cart's id is still there when this runs.
    """
    session = getattr(request, "session", None)
    if request is None or session is None or SESSION_CART_KEY not in session:
        return
    cart_id = session.pop(SESSION_CART_KEY)
    source = Cart.objects.filter(pk=cart_id, user__isnull=True).first()
    if source is None:
        return
    target, _ = Cart.objects.get_or_create(user=user)
    adjustments = cart_merge(source=source, target=target)
    if adjustments:
        messages.warning(request, merge_message(adjustments), fail_silently=True)


def merge_message(adjustments: list[MergeAdjustment]) -> str:
    """One sentence for the shopper about the lines that could not keep their sum."""
    parts = []
    for adj in adjustments:
        reason = adj.reason[:1].lower() + adj.reason[1:]
        if adj.kept == 0:
            parts.append(f"{adj.product_name} was left out ({reason})")
        else:
            parts.append(f"{adj.product_name} is at {adj.kept}, not {adj.wanted} ({reason})")
    return "We added the cart from before you signed in. " + "; ".join(parts) + "."
