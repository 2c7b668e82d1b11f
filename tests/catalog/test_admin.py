import pytest
from django.urls import reverse

from catalog.factories import ProductFactory
from catalog.models import Product
from checkout.factories import StockReservationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_product_changelist")


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser(email="staff@example.com", password="x")
    client.force_login(staff)
    return client


def rows(response) -> list[Product]:
    return list(response.context["cl"].result_list)


def test_changelist_shows_price_reserved_and_available(staff_client):
    product = ProductFactory(name="Enamel Camp Mug", unit_amount=1600, stock_on_hand=10)
    StockReservationFactory(product=product, quantity=3)
    response = staff_client.get(CHANGELIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "€16.00" in html
    assert "column-reserved" in html and "column-available" in html
    assert '<td class="field-reserved">3</td>' in html
    assert '<td class="field-available">7</td>' in html
    # Visibility is edited right in the list; stock only through the stock operations.
    assert 'name="form-0-is_active"' in html
    assert "form-0-stock_on_hand" not in html


def test_changelist_shows_a_thumbnail(staff_client):
    ProductFactory(image="products/mug.jpg")
    html = staff_client.get(CHANGELIST).content.decode()
    assert '<img src="/media/products/mug.jpg"' in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sold_out", ["Empty"]),
        ("low", ["Empty", "Few"]),
        ("held", ["Held"]),
        ("in_stock", ["Few", "Many"]),
    ],
)
def test_stock_filters(staff_client, value, expected):
    ProductFactory(name="Empty", stock_on_hand=0)
    ProductFactory(name="Few", stock_on_hand=5, reorder_level=5)
    ProductFactory(name="Many", stock_on_hand=6, reorder_level=5)
    held = ProductFactory(name="Held", stock_on_hand=8)
    StockReservationFactory(product=held, quantity=8)
    response = staff_client.get(CHANGELIST, {"stock": value})
    assert response.status_code == 200
    assert sorted(p.name for p in rows(response)) == expected


def test_active_filter_and_search(staff_client):
    ProductFactory(name="Brass Pencil", is_active=False)
    ProductFactory(name="Camp Mug", description="Enamel, brass rim")
    inactive = staff_client.get(CHANGELIST, {"is_active__exact": "0"})
    assert [p.name for p in rows(inactive)] == ["Brass Pencil"]
    found = staff_client.get(CHANGELIST, {"q": "brass"})
    assert sorted(p.name for p in rows(found)) == ["Brass Pencil", "Camp Mug"]


@pytest.mark.parametrize("count", [1, 20])
def test_changelist_runs_no_query_per_row(staff_client, django_assert_num_queries, count):
    for product in ProductFactory.create_batch(count):
        StockReservationFactory(product=product)
    staff_client.get(CHANGELIST)  # warm the session and content types
    with django_assert_num_queries(5):
        staff_client.get(CHANGELIST)


def test_saving_the_list_changes_visibility_but_never_stock(staff_client):
    product = ProductFactory(stock_on_hand=10)
    response = staff_client.post(
        CHANGELIST,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-stock_on_hand": "25",  # a forged field: not in the form, ignored
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.stock_on_hand == 10
    assert product.is_active is False  # an unticked checkbox


def test_change_form_shows_preview_and_availability(staff_client):
    product = ProductFactory(image="products/mug.jpg", stock_on_hand=4, unit_amount=1600)
    StockReservationFactory(product=product, quantity=1)
    response = staff_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "€16.00" in html
    assert 'width="240"' in html and "/media/products/mug.jpg" in html
    assert response.context["original"].available == 3


def test_add_form_loads(staff_client):
    assert staff_client.get(reverse("admin:catalog_product_add")).status_code == 200
