"""The Stripe stall benchmark's arithmetic (no server, no timing)."""

from bench.harness import Timed
from bench.stripe_stall import checkout_outcome


def test_stalled_checkouts_back_at_the_cart_count_and_anything_else_is_an_error():
    answers = [
        Timed(302, 10.2, "/cart/"),
        Timed(302, 10.4, "https://127.0.0.1/cart/"),
        Timed(500, 0.3),
        Timed(0, 30.0, error="timed out"),
        Timed(302, 0.1, "http://127.0.0.1:12111/pay/cs_test_1"),  # Stripe answered after all
    ]
    outcome = checkout_outcome(answers)
    assert outcome["answers"] == 5
    assert outcome["back_to_cart"] == 2
    assert outcome["errors"] == 3
    assert outcome["max_s"] == 10.4
    assert outcome["statuses"] == [0, 302, 500]


def test_no_answer_at_all_is_reported_without_failing():
    assert checkout_outcome([])["back_to_cart"] == 0
