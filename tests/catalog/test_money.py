"""Money details: one shop currency, prices typed as people write them, Stripe's rules
for each currency, and prices shown by Babel (theme/money.py, theme/forms.py,
catalog/checks.py, `manage.py convert_prices`)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from catalog.checks import stored_prices_check
from catalog.factories import ProductFactory
from catalog.forms import ProductAdminForm
from catalog.models import Product
from theme import money
from theme.checks import money_settings_check
from theme.forms import PriceField
from theme.templatetags.shop import money as money_filter

# --------------------------------------------------------------- typing prices


@pytest.mark.parametrize(
    ("currency", "text", "amount"),
    [
        ("eur", "12.50", 1250),  # two decimals
        ("eur", "12.5", 1250),
        ("eur", "12", 1200),
        ("eur", "1,250.00", 125000),  # en_US grouping
        ("eur", " 0.50 ", 50),
        ("jpy", "1250", 1250),  # zero decimals: the amount is whole yen
        ("jpy", "1,250", 1250),
        ("kwd", "12.340", 12340),  # three decimals, the last one 0
        ("kwd", "12.34", 12340),
        ("kwd", "0.5", 500),
        ("isk", "500", 50000),  # whole units, sent as two-decimal amounts
        ("ugx", "5", 500),
    ],
)
def test_prices_are_read_as_typed_in_minor_units(currency, text, amount):
    assert money.price_parse(text, currency=currency, locale="en_US") == amount


@pytest.mark.parametrize(
    ("locale", "text", "amount"),
    [
        ("de_DE", "12,50", 1250),
        ("de_DE", "1.250,00", 125000),
        ("de_DE", "1.250", 125000),  # "." groups thousands in German
        ("fr_FR", "1 250,5", 125050),  # a plain space for French's narrow one
    ],
)
def test_prices_are_read_with_the_locales_separators(locale, text, amount):
    assert money.price_parse(text, currency="eur", locale=locale) == amount


def test_a_point_where_the_locale_writes_a_comma_is_refused_not_misread():
    with pytest.raises(money.MoneyError, match=r"Enter a price such as 12,50\."):
        money.price_parse("12.50", currency="eur", locale="de_DE")


@pytest.mark.parametrize(
    ("currency", "text", "message"),
    [
        ("eur", "12.505", "EUR prices have at most 2 decimals, such as 12.50."),
        ("jpy", "12.5", "JPY prices are whole numbers, such as 1200."),
        ("kwd", "12.3456", "KWD prices have at most 3 decimals, such as 1.250."),
        ("kwd", "12.345", "Stripe charges KWD in steps of 0.010: enter 12.340 or 12.350."),
        ("isk", "12.50", "Stripe charges ISK in whole units only: enter 12 or 13."),
        ("huf", "199.99", "Stripe charges HUF in whole units only: enter 199 or 200."),
        ("eur", "0", "Enter a price above zero."),
        ("eur", "0.00", "Enter a price above zero."),
        ("eur", "-3", "A price cannot be negative."),
        ("eur", "", "Enter a price."),
        ("eur", "12,50", "Enter a price such as 12.50."),  # en_US: "," only groups
        ("eur", "1e3", "Enter a price such as 12.50."),
        ("eur", "NaN", "Enter a price such as 12.50."),
        ("eur", "١٢", "Enter a price such as 12.50."),  # digits, but not ASCII ones
        ("eur", "€12", "Enter a price such as 12.50."),
        ("eur", "1000000", "Stripe charges at most €999,999.99 at a time."),
    ],
)
def test_prices_stripe_cannot_charge_are_refused_with_a_clear_message(currency, text, message):
    with pytest.raises(money.MoneyError) as refused:
        money.price_parse(text, currency=currency, locale="en_US")
    assert str(refused.value) == message


def test_an_unknown_currency_is_refused():
    with pytest.raises(money.UnknownCurrency):
        money.price_parse("12.50", currency="xyz")
    with pytest.raises(money.UnknownCurrency):
        money.currency_get("hrk")  # retired with the euro: Stripe no longer takes it
    assert money.currency_get("EUR") == money.currency_get("eur")


def test_every_stripe_currency_is_known_to_babel_for_formatting():
    from babel.numbers import list_currencies

    assert {code.upper() for code in money.STRIPE_CURRENCIES} <= set(list_currencies())
    assert money.format_money(12340, "kwd", locale="en_US") == "KWD12.340"


def test_the_price_field_cleans_to_minor_units_and_shows_them_back_as_typed():
    field = PriceField(currency="eur", locale="en_US")
    assert field.clean("12.50") == 1250
    assert field.prepare_value(1250) == "12.50"
    assert PriceField(currency="jpy", locale="en_US").prepare_value(1250) == "1250"
    assert PriceField(currency="kwd", locale="en_US").prepare_value(12340) == "12.340"
    assert PriceField(currency="isk", locale="en_US").prepare_value(50000) == "500"
    assert PriceField(currency="eur", locale="de_DE").prepare_value(1250) == "12,50"
    assert not field.has_changed(1250, "12.5")


# ------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (1600, "eur", "en_US", "€16.00"),
        (1600, "eur", "de_DE", "16,00\xa0€"),
        (125000, "jpy", "en_US", "¥125,000"),
        (125000, "jpy", "de_DE", "125.000\xa0¥"),
        (12340, "kwd", "en_US", "KWD12.340"),
        (12340, "kwd", "de_DE", "12,340\xa0KWD"),
        (1999, "usd", "en_US", "$19.99"),
        (50000, "isk", "en_US", "ISK500"),
        (-1250, "eur", "en_US", "-€12.50"),
    ],
)
def test_amounts_are_formatted_by_babel_for_the_locale(amount, currency, locale, shown):
    assert money.format_money(amount, currency, locale=locale) == shown


def test_the_money_filter_follows_shop_locale(settings):
    assert money_filter(1600, "eur") == "€16.00"
    assert money_filter(None, "eur") == ""
    settings.SHOP_LOCALE = "de_DE"
    assert money_filter(1600, "eur") == "16,00\xa0€"
    assert money_filter(1600) == "16,00\xa0€"  # the shop's currency when none is given


def test_an_amount_that_is_not_a_whole_step_is_shown_as_stored_never_rounded():
    assert money.format_money(12345, "isk", locale="en_US") == "ISK123.45"


@pytest.mark.django_db
def test_the_catalog_shows_prices_in_the_shops_locale(client, settings):
    settings.SHOP_LOCALE = "de_DE"
    ProductFactory(unit_amount=1600)
    assert "16,00\xa0€" in client.get(reverse("catalog:index")).content.decode()


# ----------------------------------------------------------- one shop currency


@pytest.mark.django_db
def test_no_product_is_saved_in_another_currency(settings):
    with pytest.raises(ValueError, match="convert_prices"):
        ProductFactory(currency="usd")
    product = ProductFactory()
    settings.SHOP_CURRENCY = "jpy"
    product.name = "Renamed"
    with pytest.raises(ValueError, match=r"'eur'.*'jpy'"):
        product.save()
    assert not Product.objects.filter(name="Renamed").exists()


@pytest.mark.django_db
def test_a_new_product_takes_the_shop_currency_as_it_is_now(settings):
    settings.SHOP_CURRENCY = "jpy"
    assert ProductFactory(unit_amount=1200).currency == "jpy"
    assert Product(name="x").currency == "jpy"


@pytest.mark.django_db
def test_model_validation_refuses_another_currency_and_uncharged_amounts(settings):
    from django.core.exceptions import ValidationError

    product = ProductFactory()
    product.currency = "usd"
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert "convert_prices" in refused.value.message_dict["__all__"][0]
    settings.SHOP_CURRENCY = "kwd"
    kwd = Product(name="Dinar", slug="dinar", currency="kwd", unit_amount=12345)
    with pytest.raises(ValidationError) as refused:
        kwd.full_clean()
    assert refused.value.message_dict["unit_amount"] == [
        "Stripe charges KWD in steps of 0.010: enter 12.340 or 12.350."
    ]


def admin_add(admin_client, **fields):
    data = {
        "name": "Camp stool",
        "slug": "camp-stool",
        "description": "",
        "is_active": "on",
        "unit_amount": "45.00",
        "stock_on_hand": "12",
        "reorder_level": "2",
        "_save": "Save",
        **fields,
    }
    return admin_client.post(reverse("admin:catalog_product_add"), data)


@pytest.mark.django_db
def test_staff_type_the_price_as_people_write_it(admin_client):
    response = admin_add(admin_client, unit_amount="45.50", currency="usd")
    assert response.status_code == 302
    stool = Product.objects.get(slug="camp-stool")
    # A posted currency is ignored: it is read only, and always the shop's.
    assert (stool.unit_amount, stool.currency) == (4550, "eur")
    page = admin_client.get(reverse("admin:catalog_product_change", args=[stool.pk]))
    html = page.content.decode()
    assert 'value="45.50"' in html
    assert "Price (EUR)" in html
    assert 'name="currency"' not in html


@pytest.mark.django_db
def test_the_admin_refuses_too_many_decimals_and_keeps_nothing(admin_client, settings):
    response = admin_add(admin_client, unit_amount="45.505")
    assert response.status_code == 200
    assert "EUR prices have at most 2 decimals" in response.content.decode()
    settings.SHOP_CURRENCY = "jpy"
    response = admin_add(admin_client, unit_amount="4500.5")
    assert "JPY prices are whole numbers" in response.content.decode()
    assert not Product.objects.exists()
    assert admin_add(admin_client, unit_amount="4,500").status_code == 302
    assert Product.objects.get().unit_amount == 4500


@pytest.mark.django_db
def test_the_admin_form_of_a_product_in_another_currency_says_what_to_run(settings):
    product = ProductFactory(unit_amount=1250)
    settings.SHOP_CURRENCY = "jpy"
    form = ProductAdminForm(
        data={
            "name": product.name,
            "slug": product.slug,
            "unit_amount": "12.50",
            "stock_on_hand": "10",
            "reorder_level": "3",
        },
        instance=product,
    )
    assert not form.is_valid()
    assert "convert_prices" in str(form.errors)


# ---------------------------------------------------- refusing to start, and the fix


def test_a_currency_stripe_does_not_take_or_an_unknown_locale_refuses_to_start(settings):
    assert money_settings_check() == []
    settings.SHOP_CURRENCY = "xyz"
    settings.SHOP_LOCALE = "xx_NOPE"
    assert [e.id for e in money_settings_check()] == ["theme.E001", "theme.E002"]


def test_a_minimum_charge_that_is_not_an_amount_refuses_to_start(settings):
    settings.SHOP_MINIMUM_CHARGE = "2,00"
    assert [e.id for e in money_settings_check()] == ["theme.E003"]
    settings.SHOP_MINIMUM_CHARGE = "2.00"
    assert money_settings_check() == []
    assert money.minimum_charge("eur") == 200
    settings.SHOP_MINIMUM_CHARGE = "0.10"  # never under Stripe's own
    assert money.minimum_charge("eur") == 50


@pytest.mark.django_db
def test_a_changed_currency_setting_refuses_to_start_and_names_the_command(settings):
    ProductFactory(unit_amount=1250)
    ProductFactory(unit_amount=900)
    assert stored_prices_check() == []
    settings.SHOP_CURRENCY = "jpy"
    [error] = stored_prices_check()
    assert error.id == "catalog.E001"
    assert error.level >= 40  # Error: `manage.py check`, runserver and migrate stop
    assert "SHOP_CURRENCY=jpy: 2 product(s) in EUR." in error.msg
    assert "python manage.py convert_prices --to jpy --rate <JPY per 1 EUR>" in error.hint
    assert "--relabel" in error.hint
    with pytest.raises(Exception, match=r"catalog\.E001"):
        call_command("check")


@pytest.mark.django_db
def test_convert_prices_converts_with_each_currencys_minor_unit_in_one_go(settings):
    lamp = ProductFactory(name="Lamp", unit_amount=1250)
    mug = ProductFactory(name="Mug", unit_amount=999)
    settings.SHOP_CURRENCY = "jpy"
    out = StringIO()
    call_command("convert_prices", "--to", "JPY", "--rate", "161.2", stdout=out)
    lamp.refresh_from_db()
    mug.refresh_from_db()
    assert (lamp.unit_amount, lamp.currency) == (2015, "jpy")  # 12.50 × 161.2
    assert (mug.unit_amount, mug.currency) == (1610, "jpy")  # 9.99 × 161.2 = 1610.388
    assert "Lamp: €12.50 -> ¥2,015" in out.getvalue()
    assert "Done: 2 product(s) converted at 161.2 from EUR to JPY." in out.getvalue()
    assert stored_prices_check() == []


@pytest.mark.django_db
def test_convert_prices_rounds_to_what_stripe_can_charge(settings):
    product = ProductFactory(unit_amount=1250)
    settings.SHOP_CURRENCY = "kwd"
    call_command("convert_prices", "--rate", "0.3077", stdout=StringIO())
    product.refresh_from_db()
    assert (product.unit_amount, product.currency) == (3850, "kwd")  # 3.84625 -> 3.850


@pytest.mark.django_db
def test_convert_prices_relabels_prices_entered_in_the_new_currency(settings):
    product = ProductFactory(unit_amount=1250)
    settings.SHOP_CURRENCY = "usd"
    call_command("convert_prices", "--relabel", stdout=StringIO())
    product.refresh_from_db()
    assert (product.unit_amount, product.currency) == (1250, "usd")


@pytest.mark.django_db
def test_convert_prices_changes_nothing_when_one_price_cannot_be_had(settings):
    ProductFactory(name="Round", unit_amount=1200)
    ProductFactory(name="Odd", unit_amount=1250)
    settings.SHOP_CURRENCY = "isk"
    with pytest.raises(CommandError, match=r"Odd \(#\d+\).*whole units"):
        call_command("convert_prices", "--relabel", stdout=StringIO())
    assert set(Product.objects.values_list("currency", flat=True)) == {"eur"}


@pytest.mark.django_db
def test_convert_prices_dry_run_and_bad_input(settings):
    ProductFactory(unit_amount=1250)
    settings.SHOP_CURRENCY = "jpy"
    out = StringIO()
    call_command("convert_prices", "--rate", "161.2", "--dry-run", stdout=out)
    assert "nothing was changed" in out.getvalue()
    assert Product.objects.get().currency == "eur"
    with pytest.raises(CommandError, match="--rate must be a positive number"):
        call_command("convert_prices", "--rate", "-3", stdout=StringIO())
    with pytest.raises(CommandError, match="--to: Stripe does not charge in 'xyz'"):
        call_command("convert_prices", "--to", "xyz", "--relabel", stdout=StringIO())


def test_amount_convert_uses_decimal_arithmetic():
    eur, jpy, kwd = (money.currency_get(c) for c in ("eur", "jpy", "kwd"))
    assert money.amount_convert(1, source=eur, target=jpy, rate=Decimal("161.2")) == 2
    assert money.amount_convert(50, source=jpy, target=eur, rate=Decimal("0.0062")) == 31
    assert money.amount_convert(1, source=eur, target=kwd, rate=Decimal("0.0001")) == 10


@pytest.mark.django_db
def test_a_form_without_the_price_is_not_told_about_it(settings):
    """The changelist's is_active form must not fail on a price it does not show."""
    from django import forms

    settings.SHOP_CURRENCY = "kwd"
    product = ProductFactory(unit_amount=12340)
    Product.objects.filter(pk=product.pk).update(unit_amount=12345)  # stored before the rule
    product.refresh_from_db()
    only_active = forms.modelform_factory(Product, fields=["is_active"])
    assert only_active(data={"is_active": "on"}, instance=product).is_valid()
