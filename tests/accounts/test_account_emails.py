"""allauth's emails speak in the shop's name and link to SHOP_BASE_URL, not to whatever
host the request came in on (the sites framework is not installed); the request queues
them and the worker sends them."""

import re

import pytest
from django.urls import reverse

from tests.tasks import tasks_queued, tasks_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shop(settings):
    settings.SHOP_NAME = "Fieldnote Supply"
    settings.SHOP_BASE_URL = "https://shop.example.com"
    settings.SHOP_CONTACT_EMAIL = "hello@shop.example.com"
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Fieldnote Supply] "


def test_the_request_queues_the_email_and_the_worker_sends_it(client, user, mailoutbox, settings):
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert mailoutbox == [] and len(tasks_queued()) == 1
    assert tasks_run() == 1
    [message] = mailoutbox
    assert message.to == [user.email]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_password_reset_email_is_in_the_shops_name(client, user, mailoutbox):
    client.post(reverse("account_reset_password"), {"email": user.email})
    tasks_run()
    [message] = mailoutbox
    assert message.subject.startswith("[Fieldnote Supply] ")
    assert "Hello from Fieldnote Supply!" in message.body
    assert "https://shop.example.com" in message.body
    assert "hello@shop.example.com" in message.body
    for wrong in ("Storefront", "127.0.0.1", "testserver"):
        assert wrong not in message.subject + message.body


def test_password_reset_link_is_on_the_shops_base_url_and_works(client, user, mailoutbox):
    client.post(reverse("account_reset_password"), {"email": user.email})
    tasks_run()
    [link] = re.findall(r"https?://\S+/accounts/password/reset/key/\S+", mailoutbox[0].body)
    assert link.startswith("https://shop.example.com/accounts/password/reset/key/")
    path = link.removeprefix("https://shop.example.com")
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert b"new password" in response.content.lower()


def test_signup_confirmation_names_the_shop_and_its_address(client, mailoutbox):
    client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-Long-pass-123",
            "password2": "a-Long-pass-123",
        },
    )
    tasks_run()
    [message] = mailoutbox
    assert message.subject.startswith("[Fieldnote Supply] ")
    assert "shop.example.com" in message.body and "testserver" not in message.body
    assert re.search(r"https://shop\.example\.com/accounts/confirm-email/\S+", message.body)
