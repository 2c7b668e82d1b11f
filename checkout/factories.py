from datetime import timedelta

import factory
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout.models import Cart, CartItem, Order, OrderLine


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email)
    currency = "eur"
    amount_total = 0


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    name = factory.LazyAttribute(lambda o: o.product.name)
    unit_amount = factory.LazyAttribute(lambda o: o.product.unit_amount)
    quantity = 1


class StockReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockReservation

    product = factory.SubFactory(ProductFactory)
    order = factory.SubFactory(OrderFactory)
    quantity = 1
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=30))
    status = StockReservation.Status.ACTIVE
