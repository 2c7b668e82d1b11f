import pytest
from django.urls import reverse

from accounts.models import User
from tests.html import one
from tests.tasks import tasks_run

pytestmark = pytest.mark.django_db


def test_signup_with_email_creates_user_and_signs_in(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
        follow=True,
    )
    assert response.status_code == 200
    user = User.objects.get(email="new@example.com")
    assert response.context["user"] == user
    assert b"new@example.com" in response.content  # the account menu names the shopper


def test_signup_rejects_mismatched_passwords_and_creates_nothing(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "other-phrase-1",
        },
    )
    assert response.status_code == 200
    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_signup_with_taken_email_is_refused(client, user):
    client.post(
        reverse("account_signup"),
        {"email": user.email, "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert User.objects.filter(email=user.email).count() == 1


def test_login_with_email_and_password(client, user, password):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password}, follow=True
    )
    assert response.context["user"] == user


def test_login_with_wrong_password_stays_anonymous(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert b"not correct" in response.content


def test_logout_is_a_post(shopper_client):
    page = shopper_client.get(reverse("catalog:index"))
    assert b'action="/accounts/logout/"' in page.content
    response = shopper_client.post(reverse("account_logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_login_page_links_the_built_stylesheet(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert b"css/dist/styles.css" in response.content
    sign_in = one(response.content.decode(), role="button", name="Sign In")
    assert "btn-primary" in sign_in.classes  # allauth's elements wear the shop's styles


def test_password_reset_sends_an_email(client, user, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    tasks_run()  # queued by the request, sent by the worker
    assert len(mailoutbox) == 1
    assert user.email in mailoutbox[0].to


def test_user_manager_requires_email():
    with pytest.raises(ValueError):
        User.objects.create_user("", "x")


def test_superuser_is_staff():
    admin = User.objects.create_superuser("boss@example.com", "pw-123456789")
    assert admin.is_staff and admin.is_superuser


def in_a_card(element) -> bool:
    """Whether the element sits in the shop's card, whose only mark is its `card` class."""
    return any("card" in ancestor.classes for ancestor in element.ancestors())


def test_account_pages_sit_in_the_shops_card_layout(shopper_client):
    from django.test import Client

    login = one(Client().get(reverse("account_login")).content.decode(), field="login")
    assert login.closest(role="main") is not None
    assert in_a_card(login)
    email = shopper_client.get(reverse("account_email")).content.decode()
    account_menu = one(email, role="navigation", name="Account")
    assert account_menu.closest(role="main") is not None
    assert in_a_card(account_menu)
