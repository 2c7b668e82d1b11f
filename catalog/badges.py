"""Stock badges: what a shopper is told about a product's availability, and the
version that lets the badge poller answer 304 when nothing changed."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class StockState(StrEnum):
    IN_STOCK = "in_stock"
    LOW = "low"
    HELD = "held"
    SOLD_OUT = "sold_out"


@dataclass(frozen=True)
class StockBadge:
    state: StockState
    text: str  # the whole message: product page, screen readers, the live update's key
    tone: str  # the badge-<tone> component class in theme/static_src/src/styles.css
    # The start of `text` that fits on one line of a catalog card, when all of it would
    # wrap; cards show it and keep the rest for screen readers.
    short_text: str = ""

    @property
    def can_buy(self) -> bool:
        return self.state in (StockState.IN_STOCK, StockState.LOW)

    @property
    def text_after_short(self) -> str:
        """What the short text leaves out ("" when there is none)."""
        return self.text.removeprefix(self.short_text) if self.short_text else ""


def stock_badge(*, stock_on_hand: int, available: int) -> StockBadge:
    """The badge for a product; `available` is the annotation of with_availability().

    Sold out means nothing on hand. Units on hand that are all held by open
    checkouts get their own badge: they may come back when a hold expires.
    """
    if stock_on_hand <= 0:
        return StockBadge(StockState.SOLD_OUT, "Sold out", "red")
    if available <= 0:
        return StockBadge(
            StockState.HELD,
            "All held in checkouts — check back soon",
            "blue",
            short_text="All held in checkouts",
        )
    if available <= settings.LOW_STOCK_THRESHOLD:
        return StockBadge(StockState.LOW, f"Only {available} left", "amber")
    return StockBadge(StockState.IN_STOCK, "In stock", "green")


def attach_badges(products: Iterable) -> None:
    """Set `product.badge` on each product (annotated with_availability()): worked out
    once per product, then read by every fragment that shows it."""
    for product in products:
        product.badge = stock_badge(
            stock_on_hand=product.stock_on_hand, available=product.available
        )


def stock_version(products: Iterable) -> str:
    """An ETag for the badges of these products (annotated with_availability()).

    A digest of (id, stock_on_hand, available): it changes whenever a badge could,
    including when a hold expires with time and nothing was written, and needs no
    cache to invalidate across processes.
    """
    rows = sorted((p.pk, p.stock_on_hand, p.available) for p in products)
    digest = hashlib.blake2b(
        repr((settings.LOW_STOCK_THRESHOLD, rows)).encode(), digest_size=10
    ).hexdigest()
    return f'"{digest}"'
