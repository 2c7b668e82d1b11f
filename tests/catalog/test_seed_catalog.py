from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from catalog.factories import ProductFactory
from catalog.models import Product, StockReservation
from checkout.factories import OrderLineFactory, StockReservationFactory
from checkout.models import OrderLine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_catalog", *args, stdout=out)
    return out.getvalue()


def test_seeds_a_believable_catalog_of_twelve(media_root):
    output = seed()
    products = list(Product.objects.all())
    assert len(products) == 12
    assert len(output.strip().splitlines()) == 1
    assert "created 12 products (1 sold out, 2 low on stock)" in output
    assert all(p.is_active and p.currency == "eur" and p.unit_amount > 0 for p in products)
    assert all(p.description.count(". ") >= 1 for p in products)
    assert len({p.unit_amount for p in products}) > 6
    assert sum(1 for p in products if p.stock_on_hand == 0) == 1
    assert any(1 <= p.stock_on_hand <= 5 for p in products)
    assert len({p.slug for p in products}) == 12


def test_every_product_gets_a_small_square_jpeg(media_root):
    seed()
    for product in Product.objects.all():
        path = media_root / product.image.name
        assert product.image.name.startswith("products/")
        assert path.exists()
        assert path.stat().st_size < 80_000
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.size == (800, 800)


def test_does_nothing_when_products_exist():
    ProductFactory(name="Staff made this")
    output = seed()
    assert "already has 1 products; nothing to do" in output
    assert list(Product.objects.values_list("name", flat=True)) == ["Staff made this"]


def test_running_twice_is_idempotent():
    seed()
    seed()
    assert Product.objects.count() == 12


def test_reset_replaces_the_catalog_and_its_images(media_root):
    seed()
    reserved = StockReservationFactory()
    line = OrderLineFactory()
    output = seed("--reset", "--products", "3")
    assert "deleted 14, created 3 products" in output
    assert Product.objects.count() == 3
    # The old pictures are gone; the three new ones are all that is left.
    assert sorted(p.name for p in (media_root / "products").iterdir()) == sorted(
        Path(p.image.name).name for p in Product.objects.all()
    )
    assert not StockReservation.objects.filter(pk=reserved.pk).exists()
    line = OrderLine.objects.get(pk=line.pk)
    assert line.product is None and line.name


def test_products_option_makes_numbered_variants_beyond_the_base_list(media_root):
    seed("--products", "30")
    products = list(Product.objects.all())
    assert len(products) == 30
    assert len({p.name for p in products}) == 30
    assert len({p.slug for p in products}) == 30
    assert Product.objects.filter(name__startswith="Linen Field Notebook (").count() == 2
    assert all((media_root / p.image.name).exists() for p in products)


@pytest.mark.parametrize("count", ["0", "-1", "10001"])
def test_products_must_be_a_sane_number(count):
    with pytest.raises(CommandError):
        seed("--products", count)
