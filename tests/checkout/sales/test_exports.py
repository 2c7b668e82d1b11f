"""CSV exports: streamed, with their permissions, and safe to open in a spreadsheet."""

import csv
import io

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.test import AsyncRequestFactory
from django.urls import reverse

from accounts.factories import UserFactory
from catalog import inventory
from catalog.models import StockMovement
from checkout import exports
from checkout.views import staff as staff_views
from tests.checkout.sales.known_shop import FIRST, LAST, S, at, make_order

pytestmark = pytest.mark.django_db

ORDERS = reverse("sales:orders_csv")
LEDGER = reverse("sales:stock_ledger_csv")
NOVEMBER = {"start": FIRST.isoformat(), "end": LAST.isoformat()}


def staff(client, *codenames: str):
    user = UserFactory(is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    client.force_login(user)
    return user


def rows(response) -> list[dict[str, str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+41 79", "'+41 79"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Notebook = good", "Notebook = good"),
        ("", ""),
        (None, ""),
        (-3, -3),  # a number the shop writes stays a number
        (0, 0),
    ],
)
def test_cells_a_spreadsheet_would_run_are_escaped(value, written):
    assert exports.cell(value) == written


def test_amounts_are_in_major_units():
    assert str(exports.major_units(1250, "eur")) == "12.50"
    assert str(exports.major_units(1250, "jpy")) == "1250"
    assert exports.major_units(None, "eur") == ""


def test_orders_export_streams_each_line_of_the_orders_placed_in_the_period(client, shop):
    staff(client, "checkout.view_order")
    response = client.get(ORDERS, NOVEMBER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="orders-2026-11-01-2026-11-30.csv"' in response["Content-Disposition"]
    got = rows(response)
    placed = {"o1", "o2", "o3", "o4", "o5", "o6", "o8", "o9"}  # o7: October, o10: December
    assert {int(r["order_id"]) for r in got} == {shop[name].pk for name in placed}
    o3 = [r for r in got if r["order_id"] == str(shop["o3"].pk)]
    assert [(r["line"], r["product"], r["quantity"], r["line_total"]) for r in o3] == [
        ("1", "Notebook", "1", "10.00"),
        ("2", "Pen case", "2", "50.00"),
    ]
    assert {r["order_total"] for r in o3} == {"60.00"} and o3[0]["status"] == "paid"
    assert o3[0]["paid_at"].startswith("2026-11-")


def test_what_shoppers_typed_cannot_become_a_formula(client, shop):
    staff(client, "checkout.view_order")
    order = make_order([(shop["a"], 1)], status=S.PAID, created=at(12, 9), paid=at(12, 9, 5))
    order.lines.update(name='=HYPERLINK("http://evil.example","click")')
    type(order).objects.filter(pk=order.pk).update(email="@evil@example.com")
    got = [r for r in rows(client.get(ORDERS, NOVEMBER)) if r["order_id"] == str(order.pk)]
    assert got[0]["product"] == '\'=HYPERLINK("http://evil.example","click")'
    assert got[0]["email"] == "'@evil@example.com"


def test_ledger_export_needs_its_own_permission(client, shop):
    staff(client, "checkout.view_order")
    assert client.get(LEDGER, NOVEMBER).status_code == 403


def test_ledger_export_lists_the_movements_of_the_period(client, shop):
    user = staff(client, "catalog.view_stockmovement")
    inventory.stock_write_off(product_id=shop["a"].pk, quantity=3, staff=user, note="-dropped")
    movement = StockMovement.objects.latest("id")
    StockMovement.objects.filter(pk=movement.pk).update(created_at=at(20, 15))
    StockMovement.objects.exclude(pk=movement.pk).update(created_at=at(1, 0, month=10))
    got = rows(client.get(LEDGER, NOVEMBER))
    assert [(r["delta"], r["reason"], r["note"], r["staff"]) for r in got] == [
        ("-3", "write_off", "'-dropped", user.email)
    ]
    assert got[0]["product"] == "Notebook"
    assert got[0]["created_at"] == "2026-11-20T15:00:00+01:00"  # in the shop's time zone


def test_under_asgi_the_export_is_an_async_stream(shop):
    """Django reads a sync iterator whole before serving it under ASGI: the ASGI
    request gets an async iterator, consumed chunk by chunk."""
    request = AsyncRequestFactory().get(ORDERS, NOVEMBER)
    request.user = UserFactory(is_staff=True, is_superuser=True)
    response = staff_views.orders_export(request)
    assert response.streaming and response.is_async

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    body = async_to_sync(read)().decode()
    assert body.startswith("order_id,created_at,")
    assert len(list(csv.DictReader(io.StringIO(body)))) == 9  # the lines of 8 orders


def test_long_exports_come_in_chunks(shop, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    from checkout.periods import period_of

    chunks = list(exports.orders_csv(period=period_of(FIRST, LAST)))
    assert len(chunks) == 5  # a header and 9 lines, two at a time
