import factory

from catalog.inventory import stock_opening_record
from catalog.models import Product
from theme.money import shop_currency


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A well made thing."
    unit_amount = 1250
    currency = factory.LazyFunction(shop_currency)  # the only one a product may be saved in
    stock_on_hand = 10
    is_active = True

    @factory.post_generation
    def opening_balance(product: Product, create: bool, extracted, **kwargs) -> None:
        """Stock a product is made with enters the ledger, as in the shop."""
        if create:
            stock_opening_record(product=product)
