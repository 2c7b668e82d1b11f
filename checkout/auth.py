"""The signed-in shopper, read with the units in their cart, in one query.

Every page's header shows the cart count, so a signed-in request read the shopper and
then counted their cart: two queries. ShopperBackend (first in AUTHENTICATION_BACKENDS)
is allauth's backend whose get_user adds the count to the shopper's row as
`cart_units`: the cart as it was when the request began. Only a page that changes no
cart may show it instead of counting (the catalog's kept shell, catalog.shell); a view
that changes the cart, or that confirms a payment (which empties it), counts again
through the context processor.
"""

from functools import cache

from allauth.account.auth_backends import AuthenticationBackend
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from checkout.models import CartItem


@cache
def _shoppers() -> QuerySet[User]:
    """Users with `cart_units`; built once, as resolving the subquery anew for every
    request cost about as much CPU as the query it saves."""
    units = (
        CartItem.objects.filter(cart__user=OuterRef("pk"))
        .order_by()
        .values("cart__user")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return User._default_manager.annotate(cart_units=Coalesce(Subquery(units), 0))


class ShopperBackend(AuthenticationBackend):
    def get_user(self, user_id):
        try:
            user = _shoppers().get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
