"""Staff sign in to the admin through allauth's login, with the shop's rate limits
(allauth's ACCOUNT_RATE_LIMITS): the admin's own form, which has none, signs nobody in.

Each test gets a cache of its own, where allauth counts the attempts."""

import uuid

import pytest
from allauth.account import app_settings as allauth_settings
from django.urls import reverse

from accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_INDEX = "/admin/"
SHOP_LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def own_rate_limit_counters(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"admin-login-{uuid.uuid4()}",
        },
    }


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


def rate_limit(action: str, per: str) -> int:
    """How many attempts allauth allows for `action`, counted `per` ip or key."""
    for rate in allauth_settings.RATE_LIMITS[action].split(","):
        amount, _duration, counted_per = rate.split("/")
        if counted_per == per:
            return int(amount)
    raise AssertionError(f"allauth has no {action} limit per {per}")


def sign_in_form(client, entry: str) -> str:
    """The address of the form a browser ends on from `entry`, redirects followed."""
    response = client.get(entry, follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0] if response.redirect_chain else entry


def sign_in(client, entry: str, email: str, password: str):
    """Post credentials to the sign-in form reached from `entry`, as a browser does.
    Both forms' field names are sent: the admin's (username) and allauth's (login)."""
    form = sign_in_form(client, entry)
    return client.post(form, {"username": email, "login": email, "password": password})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_staff_signing_in_from_the_admin_lands_on_the_admin_index(client, staff, password):
    form = sign_in_form(client, ADMIN_INDEX)
    assert form.startswith(SHOP_LOGIN)  # allauth's form, not the admin's own

    response = client.post(form, {"login": staff.email, "password": password}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == ADMIN_INDEX
    assert response.context["user"] == staff
    assert b"Run the shop" in response.content  # the admin index


def test_staff_under_the_limit_still_signs_in_to_the_admin(client, staff, password):
    for _ in range(rate_limit("login_failed", "key") - 1):
        assert sign_in(client, ADMIN_INDEX, staff.email, "wrong-password").status_code == 200
    assert not is_signed_in(client)

    response = sign_in(client, ADMIN_INDEX, staff.email, password)

    assert response.status_code == 302
    assert response.url == ADMIN_INDEX
    assert client.get(ADMIN_INDEX).status_code == 200


@pytest.mark.parametrize("entry", [ADMIN_INDEX, SHOP_LOGIN])
def test_after_the_failed_attempts_limit_even_the_right_password_is_refused(
    client, staff, password, entry
):
    for _ in range(rate_limit("login_failed", "key")):
        response = sign_in(client, entry, staff.email, "wrong-password")
        assert response.status_code == 200
        assert not is_signed_in(client)

    response = sign_in(client, entry, staff.email, password)

    assert b"Too many failed login attempts" in response.content
    assert not is_signed_in(client)
    assert client.get(ADMIN_INDEX).status_code == 302  # still outside the admin


@pytest.mark.parametrize("entry", [ADMIN_INDEX, SHOP_LOGIN])
def test_after_allauths_login_rate_a_further_attempt_is_answered_429(client, staff, entry):
    form = sign_in_form(client, entry)
    limit = rate_limit("login", "ip")
    for attempt in range(limit):
        guess = f"guess{attempt}@example.com"
        response = client.post(form, {"username": guess, "login": guess, "password": "x"})
        assert response.status_code == 200, attempt

    response = client.post(form, {"username": staff.email, "login": staff.email, "password": "x"})

    assert response.status_code == 429


def test_credentials_posted_to_the_admins_own_login_sign_nobody_in(client, staff, password):
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": staff.email, "password": password},
    )

    assert response.status_code == 302
    assert response.url == f"{SHOP_LOGIN}?next=%2Fadmin%2F"
    assert not is_signed_in(client)


def test_signed_in_shopper_is_refused_the_admin(shopper_client):
    assert shopper_client.get(reverse("admin:login")).status_code == 403
    response = shopper_client.get(ADMIN_INDEX, follow=True)
    assert response.status_code == 403
