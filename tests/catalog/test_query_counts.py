"""The catalog page and the badge endpoint run a fixed number of queries, whatever
the number of products on the page."""

import pytest
from django.urls import reverse

from catalog.factories import ProductFactory
from checkout.factories import CartItemFactory, StockReservationFactory

pytestmark = pytest.mark.django_db

# Catalog page: the paginator's count and the annotated page.
CATALOG_QUERIES = 2
# Signed in, the page rendered: the session, the user, and the header's cart count
# besides (the kept shell, tests/catalog/test_signed_in_shell.py, needs only two).
CATALOG_QUERIES_SIGNED_IN = CATALOG_QUERIES + 3
BADGE_QUERIES = 1
# Signed in too: the endpoint touches neither the user nor the cart.
BADGE_QUERIES_SIGNED_IN = BADGE_QUERIES


def make_products(count: int) -> list:
    products = ProductFactory.create_batch(count)
    for product in products:
        StockReservationFactory(product=product, quantity=1)
    return products


@pytest.mark.parametrize("count", [1, 24])
def test_catalog_page_query_count_does_not_grow_with_products(
    client, django_assert_num_queries, count
):
    make_products(count)
    with django_assert_num_queries(CATALOG_QUERIES):
        response = client.get(reverse("catalog:index"))
    assert response.content.decode().count('id="stock-badge-') == count


@pytest.mark.parametrize("count", [1, 24])
def test_catalog_page_query_count_for_a_signed_in_shopper(
    shopper_client, user, django_assert_num_queries, count
):
    CartItemFactory(cart__user=user, quantity=2)
    make_products(count)
    with django_assert_num_queries(CATALOG_QUERIES_SIGNED_IN):
        response = shopper_client.get(reverse("catalog:index"))
    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 24])
def test_htmx_search_query_count_does_not_grow_with_products(
    client, htmx_headers, django_assert_num_queries, count
):
    make_products(count)
    with django_assert_num_queries(CATALOG_QUERIES):
        client.get(reverse("catalog:index"), {"q": "product"}, headers=htmx_headers)


@pytest.mark.parametrize("count", [1, 24])
def test_badge_endpoint_query_count_does_not_grow_with_products(
    client, htmx_headers, django_assert_num_queries, count
):
    ids = ",".join(str(p.pk) for p in make_products(count))
    with django_assert_num_queries(BADGE_QUERIES):
        response = client.get(f"{reverse('catalog:badges')}?ids={ids}", headers=htmx_headers)
    assert response.content.decode().count('hx-swap-oob="innerHTML"') == count
    with django_assert_num_queries(BADGE_QUERIES):
        response = client.get(
            f"{reverse('catalog:badges')}?ids={ids}",
            headers={**htmx_headers, "If-None-Match": response["ETag"]},
        )
    assert response.status_code == 304


@pytest.mark.parametrize("count", [1, 24])
def test_badge_endpoint_query_count_for_a_signed_in_shopper(
    shopper_client, htmx_headers, django_assert_num_queries, count
):
    ids = ",".join(str(p.pk) for p in make_products(count))
    with django_assert_num_queries(BADGE_QUERIES_SIGNED_IN):
        shopper_client.get(f"{reverse('catalog:badges')}?ids={ids}", headers=htmx_headers)


def test_product_page_is_one_query(client, django_assert_num_queries):
    product = make_products(1)[0]
    with django_assert_num_queries(1):
        assert client.get(product.get_absolute_url()).status_code == 200
