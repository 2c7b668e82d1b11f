"""The stock ledger as a shop owner relies on it: every change of stock on hand is one
movement, staff can never undo a sale, and `check_inventory` proves the books."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.factories import UserFactory
from catalog import inventory
from catalog.factories import ProductFactory
from catalog.models import Product, StockMovement
from checkout.models import Order
from checkout.services.refunds import order_refund_start
from tests.tasks import tasks_run

pytestmark = pytest.mark.django_db

R = StockMovement.Reason


def paid(checkout, stripe, client) -> Order:
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def staff_with(*codenames: str):
    staff = UserFactory(is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    return staff


def movements(product: Product) -> list[tuple[str, int]]:
    return list(
        StockMovement.objects.filter(product=product).order_by("id").values_list("reason", "delta")
    )


def check_inventory() -> str:
    from io import StringIO

    out = StringIO()
    call_command("check_inventory", stdout=out)
    return out.getvalue()


# --- A sale made while a form is open is never undone ---------------------------------


def product_form(product: Product, **changes) -> dict:
    """The change form's fields as a browser would post them, stock as shown then."""
    data = {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "is_active": "on",
        "unit_amount": f"{product.unit_amount / 100:.2f}",  # typed as shoppers read it
        "currency": product.currency,
        "reorder_level": str(product.reorder_level),
        "stock_on_hand": "10",  # what the form showed when it was opened
        "_save": "Save",
    }
    return {**data, **changes}


def test_a_description_saved_from_a_form_opened_before_a_sale_keeps_the_sale(
    admin_client, checkout, stripe, client, mug
):
    inventory.stock_receive(product_id=mug.pk, quantity=5, staff=None, note="delivery")
    mug.refresh_from_db()
    assert mug.stock_on_hand == 10
    url = reverse("admin:catalog_product_change", args=[mug.pk])
    assert admin_client.get(url).status_code == 200  # the form opens at 10
    paid(checkout, stripe, client)  # the cart takes 2 mugs
    response = admin_client.post(url, product_form(mug, description="Now with a rim"))
    assert response.status_code == 302
    mug.refresh_from_db()
    assert mug.description == "Now with a rim"
    assert mug.unit_amount == 1800  # the price as it was
    assert mug.stock_on_hand == 8
    assert "OK" in check_inventory()


def test_a_stock_count_typed_from_a_stale_screen_is_worked_out_when_saved(
    admin_client, checkout, stripe, client, mug
):
    count_url = reverse("admin:catalog_product_stock", args=[mug.pk, "count"])
    assert b"5 on hand" in admin_client.get(count_url).content  # the screen says 5
    paid(checkout, stripe, client)  # 2 mugs sold: 3 on hand, 2 paid and waiting to ship
    # Staff count the shelf: all 5 mugs are still there (the sold ones have not shipped).
    response = admin_client.post(count_url, {"quantity": "5", "note": "Monday count"})
    assert response.status_code == 302
    mug.refresh_from_db()
    assert mug.stock_on_hand == 3  # no correction: the shelf agrees with the books
    assert [r for r, _ in movements(mug)] == [R.OPENING, R.SALE]
    # One mug is missing from the shelf: the correction is -1, not 4 - 5 as shown before.
    admin_client.post(count_url, {"quantity": "4", "note": "one broke"})
    mug.refresh_from_db()
    assert mug.stock_on_hand == 2
    assert movements(mug)[-1] == (R.COUNT, -1)


# --- One movement per change -----------------------------------------------------------


def test_every_path_that_changes_stock_writes_exactly_one_movement(
    admin_client, checkout, stripe, client, mug, apron, django_capture_on_commit_callbacks
):
    assert movements(mug) == [(R.OPENING, 5)]
    order = paid(checkout, stripe, client)  # 2 mugs, 1 apron
    assert movements(mug) == [(R.OPENING, 5), (R.SALE, -2)]
    assert movements(apron) == [(R.OPENING, 3), (R.SALE, -1)]
    sale = StockMovement.objects.get(product=mug, reason=R.SALE)
    assert sale.order_id == order.pk and sale.staff is None

    with django_capture_on_commit_callbacks(execute=True):
        assert order_refund_start(order_id=order.pk, restock=True, reason="Damaged box")
    stripe.deliver_new(client)
    assert movements(mug)[-1] == (R.REFUND_RESTOCK, 2)
    stripe.deliver_new(client)  # a repeated confirmation restocks nothing more
    assert len(movements(mug)) == 3

    staff = UserFactory(is_staff=True)
    inventory.stock_receive(product_id=mug.pk, quantity=4, staff=staff, note="PO 17")
    inventory.stock_write_off(product_id=mug.pk, quantity=1, staff=staff, note="chipped")
    inventory.stock_count(product_id=mug.pk, counted=7, staff=staff, note="count")
    assert movements(mug)[-3:] == [(R.RECEIVED, 4), (R.WRITE_OFF, -1), (R.COUNT, -1)]
    assert Product.objects.get(pk=mug.pk).stock_on_hand == sum(d for _, d in movements(mug))
    assert StockMovement.objects.filter(staff=staff).count() == 3
    assert "OK" in check_inventory()


def test_a_product_added_in_the_admin_with_stock_gets_its_opening_balance(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_product_add"),
        {
            "name": "Camp stool",
            "slug": "camp-stool",
            "description": "",
            "is_active": "on",
            "unit_amount": "45.00",
            "currency": "eur",
            "stock_on_hand": "12",
            "reorder_level": "2",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    stool = Product.objects.get(slug="camp-stool")
    assert movements(stool) == [(R.OPENING, 12)]
    assert StockMovement.objects.get(product=stool).staff.is_superuser


def test_seed_catalog_writes_opening_balances():
    call_command("seed_catalog", products=6, stdout=None)
    for product in Product.objects.all():
        assert sum(d for _, d in movements(product)) == product.stock_on_hand
    assert "OK" in check_inventory()


# --- Staff operations ------------------------------------------------------------------


def test_a_write_off_below_zero_is_a_form_error_and_changes_nothing(admin_client, mug):
    url = reverse("admin:catalog_product_stock", args=[mug.pk, "write-off"])
    response = admin_client.post(url, {"quantity": "6", "note": "flood"})
    assert response.status_code == 200
    assert b"cannot take away 6" in response.content
    mug.refresh_from_db()
    assert mug.stock_on_hand == 5
    assert movements(mug) == [(R.OPENING, 5)]


def test_a_count_below_the_units_waiting_to_ship_is_a_form_error(
    admin_client, checkout, stripe, client, mug
):
    paid(checkout, stripe, client)  # 3 on hand, 2 waiting to ship
    url = reverse("admin:catalog_product_stock", args=[mug.pk, "count"])
    response = admin_client.post(url, {"quantity": "1"})
    assert response.status_code == 200
    assert b"waiting to ship" in response.content
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3


@pytest.mark.parametrize(
    ("operation", "permission"),
    [
        ("receive", "catalog.receive_stock"),
        ("count", "catalog.count_stock"),
        ("write-off", "catalog.write_off_stock"),
    ],
)
def test_each_stock_operation_needs_its_own_permission(client, mug, operation, permission):
    others = {"catalog.receive_stock", "catalog.count_stock", "catalog.write_off_stock"}
    staff = staff_with("catalog.view_product", "catalog.change_product", *(others - {permission}))
    client.force_login(staff)
    url = reverse("admin:catalog_product_stock", args=[mug.pk, operation])
    assert client.get(url).status_code == 403
    assert client.post(url, {"quantity": "1"}).status_code == 403
    assert movements(mug) == [(R.OPENING, 5)]

    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="catalog", codename=permission.split(".")[1])
    )
    staff = type(staff).objects.get(pk=staff.pk)  # permissions are cached per object
    client.force_login(staff)
    assert client.post(url, {"quantity": "4", "note": "x"}).status_code == 302
    assert len(movements(mug)) == 2


def test_the_product_page_shows_its_movements_newest_first_with_the_balance(admin_client, mug):
    inventory.stock_receive(product_id=mug.pk, quantity=7, staff=None, note="PO 9")
    inventory.stock_write_off(product_id=mug.pk, quantity=2, staff=None, note="chipped")
    html = admin_client.get(reverse("admin:catalog_product_change", args=[mug.pk])).content
    html = html.decode()
    write_off, receive, opening = (
        html.index("chipped"),
        html.index("PO 9"),
        html.index("Stock when the product was created"),
    )
    assert write_off < receive < opening
    assert "<td>-2</td><td>10</td>" in html  # balance after the write-off
    assert "<td>+7</td><td>12</td>" in html
    assert "<td>+5</td><td>5</td>" in html


def test_movements_are_never_edited_or_deleted_in_the_admin(admin_client, mug):
    movement = StockMovement.objects.get(product=mug)
    change = reverse("admin:catalog_stockmovement_change", args=[movement.pk])
    assert admin_client.post(change, {"delta": "50"}).status_code == 403
    delete = reverse("admin:catalog_stockmovement_delete", args=[movement.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert StockMovement.objects.get(pk=movement.pk).delta == 5


# --- check_inventory -------------------------------------------------------------------


def test_check_inventory_fails_naming_a_product_changed_behind_its_back(mug, apron):
    assert check_inventory().startswith("check_inventory: OK: 2 products, 0 mismatches")
    Product.objects.filter(pk=apron.pk).update(stock_on_hand=9)
    with pytest.raises(CommandError):
        check_inventory()
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_inventory", stdout=out)
    assert "1 mismatches" in out.getvalue().splitlines()[0]
    assert "Linen apron" in out.getvalue() and "Enamel mug" not in out.getvalue()


def test_check_inventory_warns_about_holds_above_stock_but_passes(checkout, mug):
    checkout()  # holds 2 mugs
    inventory.stock_write_off(product_id=mug.pk, quantity=4, staff=None, note="flood")
    out = check_inventory()
    assert "OK" in out.splitlines()[0] and "1 warnings" in out.splitlines()[0]
    assert "Enamel mug" in out


# --- Low stock -------------------------------------------------------------------------


def test_a_sale_that_reaches_the_reorder_level_emails_staff_once(
    settings, checkout, stripe, client, mug
):
    settings.STOCK_ALERT_EMAILS = ["buyer@example.com"]
    Product.objects.filter(pk=mug.pk).update(reorder_level=3)
    paid(checkout, stripe, client)  # 5 -> 3: at the level
    tasks_run()  # the alert was queued with the sale; the worker sends it
    alerts = [m for m in mail.outbox if "Low stock" in m.subject]
    assert len(alerts) == 1
    assert alerts[0].to == ["buyer@example.com"]
    assert "Enamel mug: 3 on hand" in alerts[0].body
    # Already at or below the level: a further sale is no new crossing.
    inventory.stock_write_off(product_id=mug.pk, quantity=1, staff=None, note="x")
    tasks_run()
    assert len([m for m in mail.outbox if "Low stock" in m.subject]) == 1


def test_the_admin_low_stock_list_includes_sold_out_products(admin_client):
    ProductFactory(name="Gone", stock_on_hand=0)
    ProductFactory(name="Plenty", stock_on_hand=40)
    response = admin_client.get(reverse("admin:catalog_product_changelist"), {"stock": "low"})
    assert [p.name for p in response.context["cl"].result_list] == ["Gone"]
