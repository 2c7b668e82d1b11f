"""Presentation helpers for orders: the item summary and the colours of a status."""

from collections.abc import Iterable
from dataclasses import dataclass

from django import template

from checkout.models import Order, OrderLine

register = template.Library()

Status = Order.Status


@dataclass(frozen=True)
class StatusColours:
    """The Tailwind classes that colour one status, written out in full so that
    Tailwind finds them here. Text always accompanies the colour, so colour never
    carries meaning alone."""

    badge: str  # the status badge
    dot: str  # the order page's timeline: its latest step, where the order stands now
    panel: str  # border and background of the status panel (order page, success page)


# A status still waiting for something gets the amber panel, processing too (blue badge).
WAITING_PANEL = "border-amber-200 bg-amber-50/50"
STATUS_COLOURS: dict[str, StatusColours] = {
    Status.PENDING: StatusColours(
        badge="badge-amber",
        dot="bg-amber-500 ring-amber-100",
        panel=WAITING_PANEL,
    ),
    Status.PROCESSING: StatusColours(
        badge="badge-blue",
        dot="bg-sky-600 ring-sky-100",
        panel=WAITING_PANEL,
    ),
    Status.PAID: StatusColours(
        badge="badge-green",
        dot="bg-emerald-600 ring-emerald-100",
        panel="border-emerald-200 bg-emerald-50/60",
    ),
    Status.REFUNDING: StatusColours(
        badge="badge-amber",
        dot="bg-amber-500 ring-amber-100",
        panel=WAITING_PANEL,
    ),
    Status.REFUNDED: StatusColours(
        badge="badge-stone",
        dot="bg-stone-500 ring-stone-200",
        panel="border-stone-200 bg-white",
    ),
    Status.CANCELED: StatusColours(
        badge="badge-red",
        dot="bg-red-600 ring-red-100",
        panel="border-red-200 bg-red-50/50",
    ),
}
# A status without colours of its own (none today) looks neutral.
NEUTRAL = STATUS_COLOURS[Status.REFUNDED]


@register.filter
def status_badge_class(status: str) -> str:
    return STATUS_COLOURS.get(status, NEUTRAL).badge


@register.filter
def timeline_dot_class(status: str) -> str:
    return STATUS_COLOURS.get(status, NEUTRAL).dot


@register.filter
def status_panel_class(status: str) -> str:
    return STATUS_COLOURS.get(status, NEUTRAL).panel


def _line_label(line: OrderLine) -> str:
    return f"{line.name} × {line.quantity}" if line.quantity > 1 else line.name


@register.filter
def line_summary(lines: Iterable[OrderLine], shown: int = 2) -> str:
    """A short list of what was bought: 'Linen apron × 2, Enamel mug and 3 more'.

    Iterates what it is given, so a prefetched `order.lines.all` costs no query."""
    labels = [_line_label(line) for line in lines]
    if len(labels) <= 1:
        return "".join(labels)
    if len(labels) <= shown + 1:
        # Naming the last item reads better than "and 1 more".
        return f"{', '.join(labels[:-1])} and {labels[-1]}"
    return f"{', '.join(labels[:shown])} and {len(labels) - shown} more"


@register.filter
def item_count(lines: Iterable[OrderLine]) -> int:
    return sum(line.quantity for line in lines)


@register.filter
def address_lines(address: dict[str, str]) -> list[str]:
    """A shipping address as the lines of a label: street, postal code and city, region,
    country."""
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    lines = [address.get("line1"), address.get("line2"), town, address.get("state")]
    lines.append(address.get("country"))
    return [line for line in lines if line]
