"""Contact basics: a contact page from settings, linked from every page's footer, and
times shown in the shop's own time zone rather than UTC."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from django.urls import reverse

from tests.html import one

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    settings.SHOP_CONTACT_EMAIL = "hello@shop.example.com"
    settings.SHOP_ADDRESS = "Fieldnote Supply, 12 Harbour Road, Galway H91 X2Y3, Ireland"


def test_contact_page_gives_the_shops_email_and_address(client, shop):
    response = client.get("/contact/")
    assert response.status_code == 200
    html = response.content.decode()
    email = one(html, testid="contact-email")
    assert email.text == "hello@shop.example.com"
    assert email.get("href") == "mailto:hello@shop.example.com"
    address = one(html, testid="contact-address").text
    for line in ("Fieldnote Supply", "12 Harbour Road", "Galway H91 X2Y3", "Ireland"):
        assert line in address
    assert "Europe/Dublin" in html


def test_contact_page_without_an_address_leaves_it_out(client, shop, settings):
    settings.SHOP_ADDRESS = ""
    html = client.get(reverse("contact")).content.decode()
    assert 'data-testid="contact-address"' not in html
    assert "hello@shop.example.com" in html


def test_contact_page_is_get_only(client):
    assert client.post(reverse("contact")).status_code == 405


@pytest.mark.parametrize("url", ["/", "/cart/", "/contact/"])
def test_every_page_footer_links_to_the_contact_page(client, url):
    html = client.get(url).content.decode()
    footer = one(html, role="navigation", name="Footer")
    assert one(footer, role="link", name="Contact").get("href") == "/contact/"


def test_times_are_shown_in_the_shops_time_zone_not_utc():
    assert django_settings.TIME_ZONE == "Europe/Dublin"
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    winter = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    template = Template("{{ at|date:'H:i T' }}")
    assert template.render(Context({"at": summer})) == "10:30 IST"
    assert template.render(Context({"at": winter})) == "09:30 GMT"


def test_an_order_page_shows_the_payment_time_in_the_shops_time_zone(shopper_client, user):
    from checkout.factories import OrderFactory

    order = OrderFactory(user=user, status="paid")
    type(order).objects.filter(pk=order.pk).update(
        created_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        paid_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
    )
    html = shopper_client.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "10:30" in html and "09:30" not in html


def test_an_unknown_time_zone_stops_the_shop_at_start():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "1",
            "SHOP_TIME_ZONE": "Mars/Olympus_Mons",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SHOP_TIME_ZONE 'Mars/Olympus_Mons' is not an IANA time zone" in result.stderr
