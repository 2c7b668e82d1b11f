"""Presentation helpers for orders: the item summary and the status badge colour."""

from collections.abc import Iterable

from django import template

from checkout.models import Order, OrderLine

register = template.Library()

Status = Order.Status

# Text always accompanies the colour, so colour never carries meaning alone.
BADGE_CLASSES = {
    Status.PENDING: "badge-amber",
    Status.PROCESSING: "badge-blue",
    Status.PAID: "badge-green",
    Status.REFUNDING: "badge-amber",
    Status.REFUNDED: "badge-stone",
    Status.CANCELED: "badge-red",
}


@register.filter
def status_badge_class(status: str) -> str:
    return BADGE_CLASSES.get(status, "badge-stone")


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


# The timeline's latest step takes the colour of where the order stands now.
CURRENT_DOT_CLASSES = {
    Status.PENDING: "bg-amber-500 ring-amber-100",
    Status.PROCESSING: "bg-sky-600 ring-sky-100",
    Status.PAID: "bg-emerald-600 ring-emerald-100",
    Status.REFUNDING: "bg-amber-500 ring-amber-100",
    Status.REFUNDED: "bg-stone-500 ring-stone-200",
    Status.CANCELED: "bg-red-600 ring-red-100",
}


@register.filter
def timeline_dot_class(status: str) -> str:
    return CURRENT_DOT_CLASSES.get(status, "bg-stone-500 ring-stone-200")
