import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checkout.models import Order
from tests.html import one

Status = Order.Status
ORDERS_URL = reverse("dashboard:orders")


def listed_ids(response) -> list[int]:
    return [order.pk for order in response.context["page"].object_list]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        ORDERS_URL,
        reverse("dashboard:order_detail", kwargs={"pk": 1}),
        reverse("dashboard:order_status", kwargs={"pk": 1}),
    ],
)
def test_dashboard_pages_redirect_anonymous_visitors_to_login_keeping_next(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


@pytest.mark.django_db
def test_htmx_poll_after_sign_out_sends_the_whole_tab_to_login(client, htmx_headers):
    status_url = reverse("dashboard:order_status", kwargs={"pk": 7})

    response = client.get(
        f"{status_url}?shown=pending",
        headers={**htmx_headers, "HX-Current-URL": "http://testserver/orders/7/"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('account_login')}?next=/orders/7/"
    assert response.content == b""


def test_orders_are_listed_newest_first(shopper_client, make_order):
    old = make_order(created_ago=timedelta(days=30))
    newest = make_order(created_ago=timedelta(minutes=5))
    middle = make_order(Status.REFUNDED, created_ago=timedelta(days=2))

    response = shopper_client.get(ORDERS_URL)

    assert listed_ids(response) == [newest.pk, middle.pk, old.pk]
    html = response.content.decode()
    assert html.index(f"Order #{newest.pk}<") < html.index(f"Order #{middle.pk}<")
    assert html.index(f"Order #{middle.pk}<") < html.index(f"Order #{old.pk}<")


def test_pending_orders_are_listed_only_while_their_checkout_is_open(shopper_client, make_order):
    shown = {
        status: make_order(status)
        for status in (
            Status.PENDING,  # checkout open: expires in 30 minutes
            Status.PROCESSING,
            Status.PAID,
            Status.REFUNDING,
            Status.REFUNDED,
        )
    }
    # A delayed payment that failed was an attempt: it stays in the history.
    shown["failed"] = make_order(Status.CANCELED, payment_failed_at=timezone.now())
    backed_out = make_order(Status.CANCELED)  # canceled before any payment attempt
    expired = make_order(
        Status.PENDING,
        stripe_checkout_url="https://checkout.stripe.com/c/pay/cs_old",
        checkout_expires_at=timezone.now() - timedelta(minutes=1),
    )
    never_opened = make_order(Status.PENDING, checkout_expires_at=None)

    listed = set(listed_ids(shopper_client.get(ORDERS_URL)))

    assert listed == {order.pk for order in shown.values()}
    assert expired.pk not in listed
    assert never_opened.pk not in listed
    assert backed_out.pk not in listed


def test_other_shoppers_orders_are_not_listed(shopper_client, make_order, other_user):
    mine = make_order()
    make_order(owner=other_user)

    response = shopper_client.get(ORDERS_URL)

    assert listed_ids(response) == [mine.pk]


def test_total_spent_counts_only_paid_orders(shopper_client, make_order, other_user):
    make_order(Status.PAID, lines=[("Linen apron", 2400, 2)])  # 48.00
    make_order(Status.PAID, lines=[("Enamel mug", 1250, 1)])  # 12.50
    for status in (Status.PENDING, Status.PROCESSING, Status.REFUNDING, Status.REFUNDED):
        make_order(status, lines=[("Expensive lamp", 99900, 1)])
    make_order(Status.CANCELED, lines=[("Expensive lamp", 99900, 1)])
    make_order(Status.PAID, owner=other_user, lines=[("Expensive lamp", 99900, 1)])

    response = shopper_client.get(ORDERS_URL)

    assert [(t.currency, t.amount, t.orders) for t in response.context["totals"]] == [
        ("eur", 6050, 2)
    ]
    spent = re.search(
        r'data-testid="total-spent">(.*?)</dd>', response.content.decode(), re.S
    ).group(1)
    assert "€60.50" in spent
    assert "€999.00" not in spent


def test_total_spent_is_given_per_currency(shopper_client, make_order):
    make_order(Status.PAID, lines=[("Apron", 2000, 1)])
    make_order(Status.PAID, lines=[("Apron", 3000, 1)], currency="usd")
    make_order(Status.PAID, lines=[("Apron", 500, 1)])

    response = shopper_client.get(ORDERS_URL)

    assert [(t.currency, t.amount) for t in response.context["totals"]] == [
        ("eur", 2500),
        ("usd", 3000),
    ]
    assert "€25.00" in response.content.decode()
    assert "$30.00" in response.content.decode()


def test_no_paid_order_yet_says_nothing_spent(shopper_client, make_order):
    make_order(Status.CANCELED, payment_failed_at=timezone.now())  # a failed delayed payment

    response = shopper_client.get(ORDERS_URL)

    assert "Nothing yet" in response.content.decode()


def test_order_row_shows_date_item_summary_total_and_status(shopper_client, make_order):
    order = make_order(
        Status.PAID,
        lines=[
            ("Linen apron", 2400, 2),
            ("Enamel mug", 1250, 1),
            ("Wool socks", 1500, 1),
            ("Field notebook", 900, 3),
            ("Pencil set", 700, 1),
        ],
    )

    html = shopper_client.get(ORDERS_URL).content.decode()

    assert "Linen apron × 2, Enamel mug and 3 more" in html
    assert order.created_at.strftime("%-d %b %Y") in html
    assert "€109.50" in html  # 48 + 12.50 + 15 + 27 + 7
    assert "8 items" in html
    assert "badge-green" in one(html, testid="order-row").one(text="Paid").classes
    assert f'href="{order.get_absolute_url()}"' in html


@pytest.mark.parametrize(
    ("status", "badge", "text"),
    [
        (Status.PAID, "badge-green", "Paid"),
        (Status.PENDING, "badge-amber", "Awaiting payment"),
        (Status.PROCESSING, "badge-blue", "Payment processing"),
        (Status.REFUNDING, "badge-amber", "Refund in progress"),
        (Status.REFUNDED, "badge-stone", "Refunded"),
        (Status.CANCELED, "badge-red", "Canceled"),
    ],
)
def test_status_badge_has_a_colour_and_always_text(shopper_client, make_order, status, badge, text):
    # A canceled order is listed when a payment was attempted (a failed delayed payment).
    attempted = {"payment_failed_at": timezone.now()} if status == Status.CANCELED else {}
    make_order(status, **attempted)

    html = shopper_client.get(ORDERS_URL).content.decode()

    # The badge has no hook of its own: it is the element in the row that says the status.
    shown = one(html, testid="order-row").one(text=text)
    assert [c for c in shown.classes if c.startswith("badge-")] == [badge]


def test_orders_still_being_confirmed_poll_in_the_list_and_final_ones_do_not(
    shopper_client, make_order
):
    processing = make_order(Status.PROCESSING)
    paid = make_order(Status.PAID)

    html = shopper_client.get(ORDERS_URL).content.decode()

    status_url = reverse("dashboard:order_status", kwargs={"pk": processing.pk})
    assert f'hx-get="{status_url}?shown=processing&amp;layout=compact"' in html
    assert html.count("data-poll") == 1
    assert f'id="order-status-{paid.pk}"' not in html


@pytest.mark.parametrize("count", [1, 25])
def test_order_list_runs_a_fixed_number_of_queries(
    shopper_client, make_order, django_assert_num_queries, count
):
    for index in range(count):
        make_order(
            [Status.PAID, Status.PROCESSING, Status.REFUNDED][index % 3],
            lines=[("Linen apron", 2400, 2), ("Enamel mug", 1250, 1), ("Socks", 900, 1)],
        )

    # session, user, count, orders page, their lines, paid totals, header cart count
    with django_assert_num_queries(7):
        response = shopper_client.get(ORDERS_URL)

    assert len(response.context["page"].object_list) == min(count, 20)


def test_orders_are_paginated_twenty_to_a_page(shopper_client, make_order):
    orders = [make_order(created_ago=timedelta(hours=hours)) for hours in range(45)]

    first = shopper_client.get(ORDERS_URL)
    third = shopper_client.get(ORDERS_URL, {"page": 3})

    assert listed_ids(first) == [order.pk for order in orders[:20]]
    assert listed_ids(third) == [order.pk for order in orders[40:]]
    assert "Page 1 of 3" in first.content.decode()
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' not in first.content.decode()
    assert 'rel="prev"' in third.content.decode()
    assert 'rel="next"' not in third.content.decode()


@pytest.mark.parametrize(
    ("page", "expected"),
    [("abc", 1), ("", 1), ("1.5", 1), ("0", 2), ("-1", 2), ("999", 2), ("2", 2)],
)
def test_bad_page_numbers_still_give_a_valid_page(shopper_client, make_order, page, expected):
    for _ in range(21):
        make_order()

    response = shopper_client.get(ORDERS_URL, {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == expected


def test_one_page_of_orders_shows_no_pagination(shopper_client, make_order):
    make_order()

    assert 'aria-label="Pagination"' not in shopper_client.get(ORDERS_URL).content.decode()


def test_htmx_page_request_gets_only_the_list(shopper_client, make_order, htmx_headers):
    for _ in range(21):
        make_order()

    response = shopper_client.get(ORDERS_URL, {"page": 2}, headers=htmx_headers)

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="orders"')
    assert "<html" not in html
    assert "Total spent" not in html
    assert response["Vary"].count("HX-Request") == 1


def test_history_restore_gets_the_full_page(shopper_client, make_order, htmx_headers):
    make_order()

    response = shopper_client.get(
        ORDERS_URL, headers={**htmx_headers, "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_no_orders_shows_an_empty_state_leading_to_the_catalog(shopper_client, make_order):
    make_order(Status.PENDING, checkout_expires_at=None)  # an abandoned checkout: hidden

    html = shopper_client.get(ORDERS_URL).content.decode()

    assert "No orders yet" in html
    assert one(html, role="link", name="Browse the shop").get("href") == reverse("catalog:index")
    assert "Total spent" not in html


def test_order_list_answers_get_only(shopper_client):
    assert shopper_client.post(ORDERS_URL).status_code == 405
