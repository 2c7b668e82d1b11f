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

from accounts.models import User
from checkout.models import Cart, CartItem
from theme.params import id_parse
from theme.sql import quoted_column, quoted_table


@cache
def _shopper_sql() -> str:
    """The shopper's row with `cart_units`, written once. The ORM wrote the same query
    (an annotated Subquery) for every request, and compiling it cost more CPU than
    the rest of the read (0.55 ms against 0.23 written once, measured); raw() maps the
    row onto a User."""
    user, item, cart = quoted_table(User), quoted_table(CartItem), quoted_table(Cart)
    user_id = f"{user}.{quoted_column(User, 'id')}"
    # Identifiers from the models' metadata, quoted; the shopper's id is a parameter.
    return (
        f"SELECT {user}.*, COALESCE((SELECT SUM(i.{quoted_column(CartItem, 'quantity')}) "  # noqa: S608
        f"FROM {item} i INNER JOIN {cart} c "
        f"ON c.{quoted_column(Cart, 'id')} = i.{quoted_column(CartItem, 'cart')} "
        f"WHERE c.{quoted_column(Cart, 'user')} = {user_id}), 0) AS cart_units "
        f"FROM {user} WHERE {user_id} = %s"
    )


class ShopperBackend(AuthenticationBackend):
    def get_user(self, user_id):
        # The shared parser: ASCII digits that fit a bigint (int() would take "١", and
        # an id past 64 bits overflows SQLite's integers: a 500).
        pk = id_parse(None if user_id is None else str(user_id))
        if pk is None:
            return None
        user = next(iter(User._default_manager.raw(_shopper_sql(), [pk])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
