"""The cart: services that change it and selectors that read it.

A cart line may hold from 1 to `max_quantity` units of a product, where max_quantity
is the smaller of what is available (stock on hand less open checkout holds) and
settings.CART_MAX_QUANTITY. Services refuse anything else with a CartQuantityError
and change nothing. When stock drops under a line that was valid, the line is left
as it is: the selectors report it as a problem, the shopper resolves it, and the
checkout refuses the cart until then (see `cart_problems`).
"""

import re
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, IntegerField, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import Product
from checkout.models import Cart, CartItem
from checkout.selectors import SESSION_CART_KEY, cart_for_request

# Longer than this is a huge number for sure; int() of a very long string is slow
# (and Python refuses beyond 4300 digits), so it is never attempted.
_MAX_DIGITS = 9
_WHOLE_NUMBER = re.compile(r"[0-9]+")


class CartQuantityError(ValueError):
    """A quantity the cart refuses; the message is shown to the shopper as it is."""


class MalformedQuantity(CartQuantityError):
    """Not a whole number at all (as opposed to a number outside the limits)."""


# --------------------------------------------------------------------------- limits


def cart_max_quantity() -> int:
    return settings.CART_MAX_QUANTITY


def product_max_quantity(*, product: Product) -> int:
    """Units of `product` one cart line may hold now; 0 when it cannot be bought.

    `product` must carry the `available` annotation (Product.objects.with_availability()).
    """
    if not product.is_active:
        return 0
    return max(0, min(product.available, cart_max_quantity()))


def quantity_parse(*, raw: str | None, allow_zero: bool) -> int:
    """Turn the shopper's entry into a whole number, or raise MalformedQuantity.

    Accepts digits only (surrounding spaces ignored): "1.5", "-1", "1e3" and "" are
    refused. A number too long to be sensible is refused as "too many" rather than
    parsed, so 10**12 gets the per-order limit as its message.
    """
    text = (raw or "").strip()
    if text.startswith("-") and _WHOLE_NUMBER.fullmatch(text[1:]):
        raise MalformedQuantity(
            "Enter a whole number, 0 or more" if allow_zero else "Enter a whole number, 1 or more"
        )
    if not _WHOLE_NUMBER.fullmatch(text):
        raise MalformedQuantity("Enter a whole number")
    if len(text.lstrip("0")) > _MAX_DIGITS:
        raise CartQuantityError(f"At most {cart_max_quantity()} per order")
    quantity = int(text)
    if quantity == 0 and not allow_zero:
        raise CartQuantityError("Enter at least 1")
    return quantity


def _limit_message(*, product: Product, wanted: int) -> str | None:
    """Why `wanted` units of `product` cannot be in a cart line, or None if they can."""
    if not product.is_active:
        return "No longer sold"
    if product.available <= 0:
        return "Sold out"
    cap = cart_max_quantity()
    if wanted > product.available and product.available <= cap:
        return f"Only {product.available} available"
    if wanted > cap:
        return f"At most {cap} per order"
    return None


# ------------------------------------------------------------------------- selectors


@dataclass(frozen=True)
class CartLine:
    """One line of a cart as the shopper sees it, with the stock it can count on."""

    item: CartItem
    product: Product  # annotated with `available`
    problem: str = ""  # why the line cannot be checked out as it is; "" when it can

    @property
    def id(self) -> int:
        return self.item.pk

    @property
    def quantity(self) -> int:
        return self.item.quantity

    @property
    def max_quantity(self) -> int:
        return product_max_quantity(product=self.product)

    @property
    def line_total(self) -> int:
        """Minor units, from the product's current price."""
        return self.product.unit_amount * self.item.quantity


@dataclass(frozen=True)
class CartSummary:
    """The cart page's numbers, all computed on the server."""

    lines: list[CartLine] = field(default_factory=list)

    @cached_property
    def total(self) -> int:
        return sum(line.line_total for line in self.lines)

    @cached_property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @cached_property
    def currency(self) -> str:
        return self.lines[0].product.currency if self.lines else settings.SHOP_CURRENCY

    @cached_property
    def problems(self) -> dict[int, str]:
        return {line.product.pk: line.problem for line in self.lines if line.problem}

    @property
    def can_check_out(self) -> bool:
        return bool(self.lines) and not self.problems


def _line_problem(*, item: CartItem, product: Product) -> str:
    if not product.is_active:
        return "No longer sold — remove it"
    if product.available <= 0:
        return "Sold out — remove it"
    if item.quantity > product.available:
        return f"Only {product.available} left — reduce the quantity"
    if item.quantity > cart_max_quantity():
        return f"At most {cart_max_quantity()} per order — reduce the quantity"
    return ""


def cart_lines(*, cart: Cart | None) -> list[CartLine]:
    """The cart's lines, oldest first, each with its product annotated with
    `available`, and a `problem` when it cannot be checked out as it is.

    ONE query whatever the number of lines: availability comes from
    Product.objects.with_availability() as a subquery of the same statement.
    """
    if cart is None or cart.pk is None:
        return []
    available = Product.objects.with_availability(for_user_id=cart.user_id).filter(
        pk=OuterRef("product_id")
    )
    items = (
        CartItem.objects.filter(cart=cart)
        .select_related("product")
        .annotate(
            product_available=Subquery(available.values("available"), output_field=IntegerField())
        )
    )
    lines = []
    for item in items:
        product = item.product
        product.available = item.product_available or 0
        lines.append(
            CartLine(item=item, product=product, problem=_line_problem(item=item, product=product))
        )
    return lines


def cart_summary(*, cart: Cart | None) -> CartSummary:
    """Lines, total, unit count and problems of `cart` (None: an empty cart). One query."""
    return CartSummary(lines=cart_lines(cart=cart))


def cart_problems(*, cart: Cart | None) -> dict[int, str]:
    """What stops `cart` from being checked out: product id -> message for the shopper
    ("Only 2 left — reduce the quantity", "Sold out — remove it", ...). Empty when the
    cart can be checked out (or is empty). One query.

    The checkout must refuse a cart for which this is not empty; the cart page shows
    the same messages on the lines concerned.
    """
    return cart_summary(cart=cart).problems


# -------------------------------------------------------------------------- services


def cart_get_or_create(*, request: HttpRequest) -> Cart:
    """The shopper's cart, created on first use.

    A signed-in shopper's cart is theirs (one per user; a concurrent first use is
    settled by the unique user column). An anonymous shopper's cart has no user and
    its id is kept in the session under SESSION_CART_KEY.
    """
    user = request.user
    if user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=user)
        return cart
    cart = cart_for_request(request=request)
    if cart is None:
        cart = Cart.objects.create()
        request.session[SESSION_CART_KEY] = cart.pk
    return cart


def _product_for_cart(*, cart: Cart, product_id: int) -> Product:
    """The product with `available` as the cart's shopper sees it; raises
    Product.DoesNotExist if unknown or hidden."""
    return Product.objects.active().with_availability(for_user_id=cart.user_id).get(pk=product_id)


def _touch(*, cart_id: int) -> None:
    # update() skips auto_now; the sweeper deletes anonymous carts by updated_at.
    Cart.objects.filter(pk=cart_id).update(updated_at=timezone.now())


@transaction.atomic
def cart_item_add(*, cart: Cart, product_id: int, quantity: int) -> CartItem:
    """Add `quantity` units of a product to `cart` (a new line, or more of an
    existing one), so that the line stays within the product's max quantity.

    Raises Product.DoesNotExist for an unknown or inactive product, CartQuantityError
    when the line would exceed what is available or the per-order cap (nothing is
    changed then). Two concurrent adds of the same product cannot crash on the
    unique (cart, product) constraint: the line grows by a conditional F() update,
    and a create that loses the race falls back to that update.
    """
    if quantity < 1:
        raise CartQuantityError("Enter at least 1")
    product = _product_for_cart(cart=cart, product_id=product_id)
    limit = product_max_quantity(product=product)
    if quantity > limit:
        raise CartQuantityError(_limit_message(product=product, wanted=quantity) or "")

    def grow() -> bool:
        return bool(
            CartItem.objects.filter(
                cart=cart, product=product, quantity__lte=limit - quantity
            ).update(quantity=F("quantity") + quantity)
        )

    # A concurrent add may create or grow the line between any two statements here:
    # each step either succeeds atomically or sends us round again with fresh data.
    for _attempt in range(3):
        if grow():
            break
        existing = CartItem.objects.filter(cart=cart, product=product).first()
        if existing is None:
            try:
                with transaction.atomic():
                    CartItem.objects.create(cart=cart, product=product, quantity=quantity)
                break
            except IntegrityError:
                continue  # another add created the line first: grow it instead
        message = _limit_message(product=product, wanted=existing.quantity + quantity)
        if message is not None:
            raise CartQuantityError(f"{message}; you already have {existing.quantity} in your cart")
    else:
        raise CartQuantityError("Your cart changed at the same moment; please try again")
    _touch(cart_id=cart.pk)
    return CartItem.objects.get(cart=cart, product=product)


@transaction.atomic
def cart_item_set_quantity(*, item: CartItem, quantity: int) -> CartItem | None:
    """Set a line's quantity; 0 removes the line (returns None then).

    Raises CartQuantityError when `quantity` exceeds the product's max quantity
    (lowering a line that has a problem to a valid quantity resolves it); the line
    then keeps its last valid quantity.
    """
    if quantity < 0:
        raise CartQuantityError("Enter a whole number, 0 or more")
    if quantity == 0:
        cart_item_remove(item=item)
        return None
    product = Product.objects.with_availability(for_user_id=item.cart.user_id).get(
        pk=item.product_id
    )
    if quantity > product_max_quantity(product=product):
        raise CartQuantityError(_limit_message(product=product, wanted=quantity) or "")
    CartItem.objects.filter(pk=item.pk).update(quantity=quantity)
    item.quantity = quantity
    _touch(cart_id=item.cart_id)
    return item


@transaction.atomic
def cart_item_remove(*, item: CartItem) -> None:
    """Delete a line. Removing a line that is already gone is not an error."""
    CartItem.objects.filter(pk=item.pk).delete()
    _touch(cart_id=item.cart_id)


@dataclass(frozen=True)
class MergeAdjustment:
    """A merged line that could not keep the summed quantity."""

    product_name: str
    wanted: int
    kept: int
    reason: str  # "Only 3 available", "At most 10 per order", "Sold out", ...


@transaction.atomic
def cart_merge(*, source: Cart, target: Cart) -> list[MergeAdjustment]:
    """Move the lines of `source` (an anonymous cart) into `target` (the user's) and
    delete `source`.

    Quantities of the same product are summed, then clipped to the product's max
    quantity (available stock and the per-order cap). A line the target already had
    is never lowered by the merge (a drop in stock shows on the cart page instead),
    and a source line whose product cannot be bought is dropped. Returns what was
    clipped or dropped, so the caller can tell the shopper.
    """
    if source.pk == target.pk:
        return []
    source_items = list(source.items.all())
    if not source_items:
        source.delete()
        return []
    product_ids = [item.product_id for item in source_items]
    products = Product.objects.with_availability(for_user_id=target.user_id).in_bulk(product_ids)
    existing = {item.product_id: item for item in target.items.filter(product_id__in=product_ids)}
    adjustments = []
    for item in source_items:
        product = products[item.product_id]
        had = existing[item.product_id].quantity if item.product_id in existing else 0
        wanted = had + item.quantity
        limit = product_max_quantity(product=product)
        kept = wanted if wanted <= limit else max(limit, had)
        if kept != wanted:
            reason = _limit_message(product=product, wanted=wanted) or ""
            adjustments.append(MergeAdjustment(product.name, wanted, kept, reason))
        if item.product_id in existing:
            CartItem.objects.filter(pk=existing[item.product_id].pk).update(quantity=kept)
        elif kept > 0:
            CartItem.objects.create(cart=target, product=product, quantity=kept)
    source.delete()
    _touch(cart_id=target.pk)
    return adjustments
