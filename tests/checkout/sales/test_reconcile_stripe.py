"""`manage.py reconcile_stripe` against the Stripe emulator: a clean day exits 0; a
payment with no order, an order marked paid behind Stripe's back and a refund the shop
never saw are each reported with their Stripe id and amount, and exit 1."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from checkout import gateway_lists
from checkout.factories import CartItemFactory
from checkout.models import Order, ReconciliationRun
from checkout.periods import shop_today
from checkout.services.reconciliation import stripe_reconcile
from checkout.services.reconciliation_runs import reconciliation_queue_work, reconciliation_request
from checkout.services.refunds import order_refund_start

pytestmark = pytest.mark.django_db

S = Order.Status


def period() -> list[str]:
    """Yesterday to tomorrow: what happens now is well inside, away from the edges."""
    today = shop_today()
    return ["--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1))]


def reconcile(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("reconcile_stripe", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def paid_order(checkout, stripe, client) -> Order:
    order = checkout()
    assert stripe.pay(order.stripe_session_id).status_code == 200
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == S.PAID
    return order


def refill(cart, mug) -> None:
    """A paid checkout empties the cart: put something back for the next one."""
    CartItemFactory(cart=cart, product=mug, quantity=1)


def stripe_post(stripe, path: str, data: dict) -> dict:
    response = stripe.http.post(f"{stripe.base_url}/v1/{path}", data=data)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_clean_day_exits_0_and_is_stored(
    checkout, stripe, client, cart, mug, django_capture_on_commit_callbacks
):
    paid_order(checkout, stripe, client)
    refill(cart, mug)
    refunded = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        assert order_refund_start(order_id=refunded.pk, restock=False, reason="Changed mind")
    stripe.deliver_new(client)
    refunded.refresh_from_db()
    assert refunded.status == S.REFUNDED

    code, out = reconcile(*period())
    assert code == 0, out
    summary = out.splitlines()[0]
    assert summary.startswith("reconcile_stripe: OK: ")
    assert "2 payments, 1 refunds" in summary and "2 orders paid, 1 refunded" in summary
    run = ReconciliationRun.objects.get()
    assert run.ok is True and run.status == "done" and run.summary == summary
    assert run.trigger == "command" and run.discrepancies == []


def test_what_stripe_and_the_shop_disagree_on_is_reported_with_ids_and_amounts(
    checkout, stripe, client, cart, mug
):
    # 1. A payment made at Stripe that no order of the shop has.
    session = stripe_post(
        stripe,
        "checkout/sessions",
        {
            "mode": "payment",
            "success_url": "http://shop.example/ok",
            "customer_email": "walk-in@example.com",
            "line_items[0][price_data][currency]": "eur",
            "line_items[0][price_data][unit_amount]": "4321",
            "line_items[0][price_data][product_data][name]": "Made at Stripe",
            "line_items[0][quantity]": "1",
        },
    )
    assert stripe.pay(session["id"]).status_code == 200
    stray_payment = stripe.session(session["id"])["payment_intent"]

    # 2. A refund made at Stripe whose webhook the shop never received.
    refunded = paid_order(checkout, stripe, client)
    refund = stripe_post(stripe, "refunds", {"payment_intent": refunded.stripe_payment_intent_id})

    # 3. An order marked paid behind Stripe's back: its session is still open, unpaid.
    refill(cart, mug)
    faked = checkout()
    Order.objects.filter(pk=faked.pk).update(status=S.PAID, paid_at=timezone.now())

    code, out = reconcile(*period())
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("reconcile_stripe: 3 DISCREPANCIES: ")
    by_kind = {line.split()[0]: line for line in lines[1:4]}
    assert set(by_kind) == {
        "PAYMENT_WITHOUT_ORDER",
        "REFUND_NOT_RECORDED",
        "PAID_ORDER_WITHOUT_PAYMENT",
    }
    assert f"{stray_payment} €43.21" in by_kind["PAYMENT_WITHOUT_ORDER"]
    assert f"{refund['id']} €70.00 order #{refunded.pk}" in by_kind["REFUND_NOT_RECORDED"]
    assert (
        f"{faked.stripe_session_id} €18.00 order #{faked.pk}"
        in by_kind["PAID_ORDER_WITHOUT_PAYMENT"]
    )
    assert "open and unpaid" in by_kind["PAID_ORDER_WITHOUT_PAYMENT"]

    run = ReconciliationRun.objects.get()
    assert run.ok is False
    assert {d["stripe_id"] for d in run.discrepancies} == {
        stray_payment,
        refund["id"],
        faked.stripe_session_id,
    }


def test_amount_mismatch_and_a_refund_stripe_does_not_have(checkout, stripe, client, cart, mug):
    mismatched = paid_order(checkout, stripe, client)
    Order.objects.filter(pk=mismatched.pk).update(stripe_amount_total=6000)
    refill(cart, mug)
    unrefunded = paid_order(checkout, stripe, client)
    Order.objects.filter(pk=unrefunded.pk).update(status=S.REFUNDED, refunded_at=timezone.now())

    code, out = reconcile(*period())
    assert code == 1
    assert f"AMOUNT_MISMATCH {mismatched.stripe_payment_intent_id} €70.00" in out
    assert "the order is for €60.00" in out
    assert f"REFUND_MISSING_AT_STRIPE {unrefunded.stripe_payment_intent_id} €18.00" in out


def test_checkouts_in_flight_are_not_discrepancies(checkout, stripe, client, cart, mug):
    checkout()  # open: the shopper is on Stripe's page
    result = stripe_reconcile(
        since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1)
    )
    assert result.ok and result.counts["in_flight"] == 1

    # Paid at Stripe, webhook not here yet, the order younger than a hold: in flight.
    pending = Order.objects.get(status=S.PENDING)
    assert stripe.pay(pending.stripe_session_id).status_code == 200
    result = stripe_reconcile(
        since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1)
    )
    assert result.ok, [d.line() for d in result.discrepancies]
    assert result.counts["in_flight"] == 1

    # The same order, older than a hold and still pending: that is a discrepancy.
    Order.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=2))
    result = stripe_reconcile(
        since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1)
    )
    assert [d.kind for d in result.discrepancies] == ["payment_order_not_paid"]


def test_what_happened_in_the_last_minutes_sits_at_the_edge(checkout, stripe, client):
    faked = checkout()
    Order.objects.filter(pk=faked.pk).update(status=S.PAID, paid_at=timezone.now())
    code, out = reconcile()  # the last 2 days, until now: this order is at the edge
    assert code == 0, out
    assert "1 at the edges" in out.splitlines()[0]


def test_lists_are_paged_and_429_is_waited_out(checkout, stripe, client, cart, mug, monkeypatch):
    monkeypatch.setattr(gateway_lists, "LIST_PAGE_SIZE", 2)
    for _ in range(3):
        paid_order(checkout, stripe, client)
        refill(cart, mug)
    stripe.control("POST", "api_faults", {"throttle_next": 2, "retry_after": 0})
    result = stripe_reconcile(
        since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1)
    )
    assert stripe.control("GET", "api_faults/injected")["throttle"] == 2
    assert result.ok
    assert result.counts["sessions"] == 3 and result.counts["payments"] == 3


def test_stripe_unreachable_exits_2_and_the_run_is_stored_as_failed(db, stripe_down):
    code, out = reconcile(*period())
    assert code == 2
    assert "FAILED" in out
    run = ReconciliationRun.objects.get()
    assert run.status == "failed" and run.ok is None and run.error


def test_bad_dates_exit_2(db):
    assert reconcile("--since", "2026-02-30")[0] == 2
    assert reconcile("--since", "2026-11-10", "--until", "2026-11-01")[0] == 2


def test_a_run_asked_for_on_the_page_is_run_by_the_worker(checkout, stripe, client, admin_user):
    paid_order(checkout, stripe, client)
    run, created = reconciliation_request(staff=admin_user)
    assert created and run.status == "requested"
    code, out = reconcile("--queue")
    assert code == 0 and f"run #{run.pk}" in out
    run.refresh_from_db()
    assert run.status == "done" and run.until is not None and run.started_at is not None
    assert reconciliation_queue_work() == []  # nothing left to do

    client.force_login(admin_user)
    page = client.get(reverse("sales:index")).content.decode()
    assert f"Run #{run.pk}" in page


def test_the_daily_schedule_runs_once_a_day(stripe, db):
    assert len(reconciliation_queue_work(daily=True)) == 1
    assert reconciliation_queue_work(daily=True) == []
    later = timezone.now() + timedelta(hours=25)
    assert len(reconciliation_queue_work(daily=True, now=later)) == 1
    assert set(ReconciliationRun.objects.values_list("trigger", flat=True)) == {"schedule"}


def test_an_abandoned_run_is_marked_failed_and_a_new_one_can_be_asked(db, admin_user):
    run, _ = reconciliation_request(staff=admin_user)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status="running", started_at=timezone.now() - timedelta(hours=1)
    )
    again, created = reconciliation_request(staff=admin_user)
    assert created and again.pk != run.pk
    reconciliation_queue_work(now=timezone.now() + timedelta(minutes=1), daily=False)
    run.refresh_from_db()
    assert run.status == "failed" and "Abandoned" in run.error


def test_docker_compose_runs_the_reconcile_worker_every_minute():
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    service = compose["services"]["reconcile"]
    assert "reconcile_stripe --queue --daily" in service["command"]
    assert "sleep 60" in service["command"]
    assert service["environment"]["DATABASE_URL"].startswith("postgres://")
