"""The cart's services: add, change, remove and merge lines.

Services refuse a quantity beyond the product's max quantity (see
`checkout.selectors.product_max_quantity`) with a CartQuantityError and change nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import Product
from checkout.models import Cart, CartItem
from checkout.selectors import (
    SESSION_CART_KEY,
    cart_for_request,
    cart_max_quantity,
    own_holds,
    product_max_quantity,
)
from theme import money
from theme.params import (
    QUANTITY_MAX_DIGITS,
    NotANumber,
    NumberTooLong,
    is_number,
    number_parse,
)


class CartQuantityError(ValueError):
    """A quantity the cart refuses; the message is shown to the shopper as it is."""


class MalformedQuantity(CartQuantityError):
    """Not a whole number at all (as opposed to a number outside the limits)."""


class CartCurrencyMismatch(CartQuantityError):
    """A product not priced in the shop's currency: a cart never mixes currencies.

    A CartQuantityError so that every view that refuses a line says why in the same way.
    """


def quantity_parse(*, raw: str | None, allow_zero: bool) -> int:
    """Turn the shopper's entry into a whole number, or raise MalformedQuantity.

    Accepts digits only (surrounding spaces ignored): "1.5", "-1", "1e3" and "" are
    refused. A number too long to be sensible is refused as "too many" rather than
    parsed, so 10**12 gets the per-order limit as its message.
    """
    text = (raw or "").strip()
    # Leading zeros ("007") do not make a number longer than it is.
    digits = text.lstrip("0") or text[:1]
    try:
        quantity = number_parse(digits, max_digits=QUANTITY_MAX_DIGITS)
    except NumberTooLong:
        raise CartQuantityError(f"At most {cart_max_quantity()} per order") from None
    except NotANumber:
        if text.startswith("-") and is_number(text[1:]):
            raise MalformedQuantity(
                "Enter a whole number, 0 or more"
                if allow_zero
                else "Enter a whole number, 1 or more"
            ) from None
        raise MalformedQuantity("Enter a whole number") from None
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


def cart_get_or_create(*, request: HttpRequest) -> Cart:
    """The shopper's cart, created on first use.

    A signed-in shopper's cart is theirs (one per user; a concurrent first use is
    settled by the unique user column). An anonymous shopper's cart has no user and
    its id is kept in the session under SESSION_CART_KEY.
    """
    user = request.user
    cart: Cart | None
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
    return (
        Product.objects.active()
        .with_availability(ignore_holds=own_holds(user_id=cart.user_id))
        .get(pk=product_id)
    )


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
    # Every line is in the shop's currency, so the cart is, whatever it holds: products
    # all share it once the shop starts (catalog.checks); this guard holds without that.
    if product.currency != money.shop_currency():
        raise CartCurrencyMismatch(
            f"It is priced in {product.currency.upper()}, and your cart is in "
            f"{money.shop_currency().upper()}"
        )
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
    product = Product.objects.with_availability(
        ignore_holds=own_holds(user_id=item.cart.user_id)
    ).get(pk=item.product_id)
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
    products = Product.objects.with_availability(
        ignore_holds=own_holds(user_id=target.user_id)
    ).in_bulk(product_ids)
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


def cart_remove_bought(*, user_id: int, needed: Mapping[int, int]) -> None:
    """Take units a shopper just paid for out of their cart (a line bought in full goes).

    Runs in the payment's transaction; the lines bought in full go in one DELETE.
    """
    gone = []
    lines = CartItem.objects.filter(cart__user_id=user_id, product_id__in=needed)
    for pk, product_id, quantity in lines.values_list("pk", "product_id", "quantity"):
        if quantity <= needed[product_id]:
            gone.append(pk)
        else:
            CartItem.objects.filter(pk=pk).update(quantity=F("quantity") - needed[product_id])
    if gone:
        CartItem.objects.filter(pk__in=gone).delete()
