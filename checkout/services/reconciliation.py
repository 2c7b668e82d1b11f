"""Reconciliation with Stripe (`manage.py reconcile_stripe`, DESIGN.md section 4,
invariant 6): what Stripe took and what the shop recorded agree.

For a period, Stripe's Checkout Sessions, PaymentIntents and refunds are listed (paged,
429s waited out by the gateway) and matched with the orders by id: the payment intent
an order recorded, its session, or the order id the payment carries in its metadata.
Dates are only used to choose what to look at, never to match, so a webhook that
arrived late or an order made in one day and paid in the next still matches.

Reported (each with its Stripe id and amount):

- a payment Stripe took that names no order of the shop;
- a payment whose order is not paid (canceled, or pending for longer than a hold);
- an amount or currency that differs between Stripe and the order;
- an order marked paid whose payment Stripe does not have as succeeded;
- a refund the shop has not recorded, and a refund the shop recorded that Stripe
  does not have.

Not reported: checkouts still in flight (open sessions, payments still processing, paid
sessions whose order is younger than a hold: the webhook may be on its way), and
anything within EDGE_MARGIN of either end of the period; with a period of two days run
daily, what sits at one run's edge is in the middle of the next run's.

Runs are stored and queued by checkout.services.reconciliation_runs.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from checkout import gateway, gateway_lists
from checkout.models import Order, ReconciliationRun
from checkout.revenue import charged
from checkout.services.reconciliation_results import Reconciliation
from theme.templatetags.shop import money

logger = logging.getLogger(__name__)

S = Order.Status
Run = ReconciliationRun

DEFAULT_PERIOD = timedelta(days=2)
EDGE_MARGIN = timedelta(minutes=10)
# Ids per IN (...) list: SQLite accepts 32,766 variables, PostgreSQL more; kept small.
ID_CHUNK = 500

PAID_STATUSES = (S.PAID, S.REFUNDING, S.REFUNDED)


def _chunked(ids: Iterable[Any]) -> list[list[Any]]:
    ids = [i for i in ids if i]
    return [ids[i : i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]


class _Orders:
    """The orders Stripe's objects may name, indexed by every way they are named."""

    def __init__(self, orders: Iterable[Order]):
        self.by_id: dict[int, Order] = {}
        self.by_intent: dict[str, Order] = {}
        self.by_session: dict[str, Order] = {}
        for order in orders:
            self.add(order)

    def add(self, order: Order) -> None:
        self.by_id[order.pk] = order
        if order.stripe_payment_intent_id:
            self.by_intent[order.stripe_payment_intent_id] = order
        if order.stripe_session_id:
            self.by_session[order.stripe_session_id] = order

    def for_payment(
        self, intent_id: str | None, session: gateway.CheckoutSession | None, named: int | None
    ) -> Order | None:
        """The order of a payment: the one that recorded it, or the one of its session,
        or the one its metadata names, if that order did not record another payment."""
        if intent_id and intent_id in self.by_intent:
            return self.by_intent[intent_id]
        if session is not None:
            order = self.by_session.get(session.id)
            if order is None and session.order_id in self.by_id:
                candidate = self.by_id[session.order_id]
                if candidate.stripe_session_id in (None, "", session.id):
                    order = candidate
            if order is not None and order.stripe_payment_intent_id in ("", intent_id):
                return order
        if named in self.by_id:
            candidate = self.by_id[named]
            if candidate.stripe_payment_intent_id in ("", intent_id) and (
                session is None or candidate.stripe_session_id in (None, "", session.id)
            ):
                return candidate
        return None


def _named(metadata: dict[str, str]) -> int | None:
    raw = metadata.get("order_id", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def stripe_reconcile(
    *, since: datetime, until: datetime, now: datetime | None = None
) -> Reconciliation:
    """Compare Stripe with the orders over [since, until]. Reads only; raises
    gateway.GatewayError when Stripe cannot be listed."""
    now = now or timezone.now()
    result = Reconciliation(since=since, until=until)
    hold = timedelta(minutes=settings.STOCK_HOLD_MINUTES + settings.STOCK_HOLD_GRACE_MINUTES)
    # A session opened up to a hold before the period can be paid inside it.
    look_from = since - hold - EDGE_MARGIN
    inner_from, inner_to = since + EDGE_MARGIN, until - EDGE_MARGIN

    def inside(moment: datetime) -> bool:
        if inner_from <= moment <= inner_to:
            return True
        if since <= moment <= until:
            result.count("at_edges")
        return False

    # 1. Stripe first, all of it, before any query (the gateway gives the database
    #    connection back while it waits).
    listed = gateway_lists.sessions_list(created_gte=look_from, created_lte=until)
    intents = gateway_lists.payment_intents_list(created_gte=look_from, created_lte=until)
    refunds = gateway_lists.refunds_list(created_gte=look_from, created_lte=until)
    sessions = {item.session.id: item.session for item in listed}
    session_of_intent = {s.payment_intent: s for s in sessions.values() if s.payment_intent}
    result.count("sessions", sum(1 for item in listed if since <= item.created <= until))
    result.count(
        "payments",
        sum(1 for pi in intents if pi.status == "succeeded" and since <= pi.created <= until),
    )
    result.count("refunds", sum(1 for r in refunds if since <= r.created <= until))
    result.count(
        "in_flight",
        sum(1 for item in listed if item.session.status == "open" and item.created >= since),
    )

    # 2. The orders all of that may name, and the orders paid or refunded in the period.
    intent_ids = {pi.id for pi in intents} | {r.payment_intent for r in refunds}
    named = {_named(pi.metadata) for pi in intents} | {_named(r.metadata) for r in refunds}
    named |= {s.order_id for s in sessions.values()}
    found: list[Order] = []
    for ids in _chunked(intent_ids):
        found += Order.objects.filter(stripe_payment_intent_id__in=ids)
    for ids in _chunked(sessions):
        found += Order.objects.filter(stripe_session_id__in=ids)
    for ids in _chunked(named):
        found += Order.objects.filter(pk__in=ids)
    in_period = list(
        Order.objects.filter(
            Q(paid_at__gte=since, paid_at__lte=until)
            | Q(refunded_at__gte=since, refunded_at__lte=until)
        )
    )
    orders = _Orders([*found, *in_period])

    # 3. Each payment and refund at Stripe has its order, paid (or refunded), alike.
    for pi in intents:
        if pi.status == "processing" and pi.created >= since:
            result.count("in_flight")
        if pi.status != "succeeded" or not inside(pi.created):
            continue
        order = orders.for_payment(pi.id, session_of_intent.get(pi.id), _named(pi.metadata))
        _payment_check(result, pi, order, now=now, hold=hold)
    for refund in refunds:
        if refund.status not in ("succeeded", "pending") or not inside(refund.created):
            continue
        order = orders.for_payment(
            refund.payment_intent,
            session_of_intent.get(refund.payment_intent or ""),
            _named(refund.metadata),
        )
        _refund_check(result, refund, order)

    # 4. Each order paid or refunded in the period has its payment (or refund) at Stripe.
    intents_by_id = {pi.id: pi for pi in intents}
    refunds_of: dict[str, list[gateway_lists.RefundListed]] = {}
    for refund in refunds:
        refunds_of.setdefault(refund.payment_intent or "", []).append(refund)
    for order in in_period:
        paid, refunded = order.paid_at, order.refunded_at
        # (inside() counts what sits at an edge: it is asked last.)
        if paid and since <= paid <= until and order.status in PAID_STATUSES and inside(paid):
            result.count("orders_paid")
            _order_payment_check(result, order, intents_by_id, sessions)
        if (
            order.status == S.REFUNDED
            and paid
            and refunded
            and since <= refunded <= until
            and inside(refunded)
        ):
            result.count("orders_refunded")
            _order_refund_check(result, order, refunds_of)
    return result


def _payment_check(
    result: Reconciliation,
    pi: gateway_lists.PaymentIntent,
    order: Order | None,
    *,
    now: datetime,
    hold: timedelta,
) -> None:
    if order is None:
        named = _named(pi.metadata)
        detail = "Stripe took this payment; no order of the shop has it"
        if named:
            detail += f" (it names order #{named}, which recorded another payment or none)"
        result.add("payment_without_order", pi.id, pi.amount, pi.currency, None, detail)
    elif pi.currency != order.currency:
        result.add(
            "currency_mismatch",
            pi.id,
            pi.amount,
            pi.currency,
            order,
            f"Stripe took {pi.currency.upper()}, the order is in {order.currency.upper()}",
        )
    elif pi.amount != charged(order):
        result.add(
            "amount_mismatch",
            pi.id,
            pi.amount,
            pi.currency,
            order,
            f"Stripe took {money(pi.amount, pi.currency)}, the order is for "
            f"{money(charged(order), order.currency)}",
        )
    elif order.status in PAID_STATUSES:
        return
    elif order.status in (S.PENDING, S.PROCESSING) and order.created_at > now - hold:
        result.count("in_flight")
    else:
        result.add(
            "payment_order_not_paid",
            pi.id,
            pi.amount,
            pi.currency,
            order,
            f"Stripe took the payment; the order is {order.get_status_display().lower()}",
        )


def _refund_check(
    result: Reconciliation, refund: gateway_lists.RefundListed, order: Order | None
) -> None:
    if order is None:
        result.add(
            "refund_not_recorded",
            refund.id,
            refund.amount,
            refund.currency,
            None,
            f"refund of payment {refund.payment_intent or '?'}, which no order has",
        )
    elif order.status in (S.REFUNDED, S.REFUNDING):
        return
    elif order.needs_review and "refund" in order.review_reason.lower():
        return  # the shop saw it (a partial refund) and flagged the order for review
    else:
        result.add(
            "refund_not_recorded",
            refund.id,
            refund.amount,
            refund.currency,
            order,
            f"Stripe refunded it; the order is {order.get_status_display().lower()}",
        )


def _order_payment_check(
    result: Reconciliation,
    order: Order,
    intents: dict[str, gateway_lists.PaymentIntent],
    sessions: dict[str, gateway.CheckoutSession],
) -> None:
    """An order the shop marked paid: Stripe must have its payment as succeeded. What
    the lists did not bring (made before the period) is asked for one by one."""
    intent_id = order.stripe_payment_intent_id
    if intent_id:
        pi = intents.get(intent_id) or gateway_lists.payment_intent_find(
            payment_intent_id=intent_id
        )
        if pi is None:
            result.add(
                "paid_order_without_payment",
                intent_id,
                charged(order),
                order.currency,
                order,
                "the order is paid; Stripe has no such payment",
            )
        elif pi.status != "succeeded":
            result.add(
                "paid_order_without_payment",
                pi.id,
                pi.amount,
                pi.currency,
                order,
                f"the order is paid; Stripe has the payment as {pi.status}",
            )
        elif pi.currency != order.currency or pi.amount != charged(order):
            result.add(
                "amount_mismatch" if pi.currency == order.currency else "currency_mismatch",
                pi.id,
                pi.amount,
                pi.currency,
                order,
                f"Stripe took {money(pi.amount, pi.currency)}, the order is for "
                f"{money(charged(order), order.currency)}",
            )
        return
    session_id = order.stripe_session_id or ""
    session = sessions.get(session_id) if session_id else None
    if session is None and session_id:
        session = gateway_lists.session_find(session_id=session_id)
    if session is not None and session.payment_status in ("paid", "no_payment_required"):
        return
    state = (
        f"its Checkout Session is {session.status} and {session.payment_status}"
        if session is not None
        else "Stripe has no Checkout Session for it"
        if session_id
        else "it records no Stripe payment or session"
    )
    result.add(
        "paid_order_without_payment",
        session_id,
        charged(order),
        order.currency,
        order,
        f"the order is paid; {state}",
    )


def _order_refund_check(
    result: Reconciliation, order: Order, refunds_of: dict[str, list[gateway_lists.RefundListed]]
) -> None:
    intent_id = order.stripe_payment_intent_id
    refunds = refunds_of.get(intent_id) if intent_id else None
    if intent_id and refunds is None:
        refunds = gateway_lists.refunds_list(payment_intent=intent_id)
    if any(r.status in ("succeeded", "pending") for r in refunds or []):
        return
    result.add(
        "refund_missing_at_stripe",
        order.stripe_refund_id or intent_id,
        charged(order),
        order.currency,
        order,
        "the order is refunded; Stripe has no refund of its payment",
    )
