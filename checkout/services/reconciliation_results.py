"""What a reconciliation with Stripe found: its discrepancies and its summary line."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from checkout.periods import shop_time_zone
from theme.templatetags.shop import money

KINDS = {
    "payment_without_order": "Payment with no order",
    "payment_order_not_paid": "Payment whose order is not paid",
    "amount_mismatch": "Amount mismatch",
    "currency_mismatch": "Currency mismatch",
    "paid_order_without_payment": "Paid order without a payment at Stripe",
    "refund_not_recorded": "Refund the shop has not recorded",
    "refund_missing_at_stripe": "Refund recorded, not at Stripe",
}


@dataclass(frozen=True)
class Discrepancy:
    kind: str  # a key of KINDS
    stripe_id: str
    amount: int | None
    currency: str
    order_id: int | None
    detail: str

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def line(self) -> str:
        amount = money(self.amount, self.currency) if self.amount is not None else "-"
        order = f" order #{self.order_id}" if self.order_id else ""
        return f"{self.kind.upper()} {self.stripe_id or '-'} {amount}{order}: {self.detail}"


@dataclass
class Reconciliation:
    since: datetime
    until: datetime
    counts: dict[str, int] = field(default_factory=dict)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def add(self, kind: str, stripe_id: str, amount, currency: str, order, detail: str) -> None:
        key = (kind, stripe_id or f"order-{getattr(order, 'pk', '')}")
        if key in self._seen:
            return
        self._seen.add(key)
        self.discrepancies.append(
            Discrepancy(
                kind=kind,
                stripe_id=stripe_id,
                amount=amount,
                currency=currency,
                order_id=getattr(order, "pk", None),
                detail=detail,
            )
        )

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def summary(self) -> str:
        tz = shop_time_zone()
        c = self.counts.get
        verdict = "OK" if self.ok else f"{len(self.discrepancies)} DISCREPANCIES"
        return (
            f"reconcile_stripe: {verdict}: "
            f"{timezone.localtime(self.since, tz):%Y-%m-%d %H:%M} to "
            f"{timezone.localtime(self.until, tz):%Y-%m-%d %H:%M} {tz.key}; Stripe: "
            f"{c('sessions', 0)} sessions, {c('payments', 0)} payments, {c('refunds', 0)} "
            f"refunds; shop: {c('orders_paid', 0)} orders paid, {c('orders_refunded', 0)} "
            f"refunded; {c('in_flight', 0)} in flight, {c('at_edges', 0)} at the edges"
        )
