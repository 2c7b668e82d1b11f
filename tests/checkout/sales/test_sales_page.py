"""The staff sales page (/admin/sales/): who may see what, the range form, and what it
shows."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.factories import UserFactory
from checkout.models import ReconciliationRun
from checkout.periods import period_default, shop_today
from tests.checkout.sales.known_shop import FIRST, LAST

pytestmark = pytest.mark.django_db

PAGE = reverse("sales:index")


def staff(client, *codenames: str, superuser: bool = False):
    user = UserFactory(is_staff=True, is_superuser=superuser)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    client.force_login(user)
    return user


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_shopper_is_not_let_in(client, user):
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_staff_without_view_order_get_403(client):
    staff(client, "catalog.view_product")
    assert client.get(PAGE).status_code == 403
    assert client.get(reverse("sales:orders_csv")).status_code == 403


def test_staff_with_view_order_see_the_page_without_stock_figures(client, shop):
    staff(client, "checkout.view_order")
    response = client.get(PAGE, {"start": FIRST.isoformat(), "end": LAST.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="revenue-chart"' in html and "<svg" in html
    assert 'data-testid="stock-table"' not in html
    assert reverse("sales:orders_csv") in html
    assert reverse("sales:stock_ledger_csv") not in html  # no view stock movement
    assert 'id="reconciliation"' not in html  # no reconciliation permissions


def test_the_figures_on_the_page_are_the_reports(client, shop):
    staff(client, "checkout.view_order", "catalog.view_product")
    response = client.get(PAGE, {"start": FIRST.isoformat(), "end": LAST.isoformat()})
    report = response.context["report"]
    html = response.content.decode()
    assert report.net == 9500 and report.gross == 13_500 and report.refunded == 4000
    figures = {
        testid: html.split(f'data-testid="{testid}"', 1)[1].split("</li>", 1)[0]
        for testid in ("figure-net", "figure-gross", "figure-refunds", "figure-conversion")
    }
    assert "€95.00" in figures["figure-net"]
    assert "€135.00" in figures["figure-gross"] and "4 orders paid" in figures["figure-gross"]
    assert (
        "€40.00" in figures["figure-refunds"] and "2 orders refunded" in figures["figure-refunds"]
    )
    assert "57.1 %" in figures["figure-conversion"] and "4 of 7" in figures["figure-conversion"]
    assert 'data-testid="stock-on-hand">27<' in html
    assert 'data-testid="stock-held">1<' in html
    assert "<title>9 Nov: refunds −€30.00 (1 refund)</title>" in html


def test_the_admin_index_links_the_sales_page_for_those_who_may_see_it(client):
    staff(client, "checkout.view_order")
    assert PAGE in client.get(reverse("admin:index")).content.decode()


def test_the_admin_index_does_not_link_it_for_other_staff(client):
    staff(client, "catalog.view_product")
    assert PAGE not in client.get(reverse("admin:index")).content.decode()


def test_by_default_the_last_thirty_days(client):
    staff(client, "checkout.view_order")
    response = client.get(PAGE)
    period = response.context["period"]
    assert (period.first, period.last) == (period_default().first, shop_today())
    assert len(period.days) == 30


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"start": "2026-13-01"}, "valid date"),
        ({"start": "yesterday"}, "valid date"),
        ({"end": "²⁰²⁶-01-01"}, "valid date"),
        ({"start": "2026-11-10", "end": "2026-11-01"}, "must be on or after"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "at most 366 days"),
        ({"start": "9" * 5000}, "valid date"),
        ({"currency": "xyz"}, "valid choice"),
    ],
)
def test_bad_ranges_are_form_errors_never_500(client, params, error):
    staff(client, "checkout.view_order")
    response = client.get(PAGE, params)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert "report" not in response.context


def test_bad_ranges_in_an_export_are_a_400(client):
    staff(client, "checkout.view_order")
    response = client.get(reverse("sales:orders_csv"), {"start": "2026-02-30"})
    assert response.status_code == 400


def test_one_date_is_enough(client):
    staff(client, "checkout.view_order")
    response = client.get(PAGE, {"start": "2026-01-10"})
    assert response.context["period"].first == date(2026, 1, 10)
    assert response.context["period"].last == date(2026, 2, 8)
    response = client.get(PAGE, {"end": "2026-01-10"})
    assert response.context["period"].first == date(2026, 1, 10) - timedelta(days=29)


def test_reconciliation_is_shown_and_requested_with_its_permissions(client):
    staff(client, "checkout.view_order", "checkout.view_reconciliationrun")
    html = client.get(PAGE).content.decode()
    assert "No reconciliation has run yet." in html
    assert reverse("sales:reconcile") not in html
    assert client.post(reverse("sales:reconcile")).status_code == 403
    assert not ReconciliationRun.objects.exists()


def test_asking_for_a_reconciliation_stores_a_requested_run_and_calls_nothing(client, stripe_down):
    user = staff(
        client,
        "checkout.view_order",
        "checkout.view_reconciliationrun",
        "checkout.add_reconciliationrun",
    )
    response = client.post(reverse("sales:reconcile"), follow=True)
    assert response.status_code == 200
    run = ReconciliationRun.objects.get()
    assert run.status == ReconciliationRun.Status.REQUESTED and run.requested_by == user
    assert "waiting for the reconcile worker" in response.content.decode()
    # A second request while one waits adds nothing.
    client.post(reverse("sales:reconcile"))
    assert ReconciliationRun.objects.count() == 1


def test_a_superuser_sees_everything(client, shop):
    staff(client, superuser=True)
    html = client.get(PAGE, {"start": FIRST.isoformat(), "end": LAST.isoformat()}).content
    assert b'data-testid="stock-table"' in html
    assert reverse("sales:stock_ledger_csv").encode() in html
    assert reverse("sales:reconcile").encode() in html


def test_a_status_links_to_the_orders_of_that_status_in_the_period(client, shop):
    staff(client, "checkout.view_order")
    html = client.get(PAGE, {"start": FIRST.isoformat(), "end": LAST.isoformat()}).content
    row = html.decode().split('data-status="canceled"', 1)[1]
    link = row.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200, link
    assert list(response.context["cl"].queryset) == [shop["o5"]]
