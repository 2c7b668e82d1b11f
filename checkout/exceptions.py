"""What checkout's services raise. Messages of CheckoutError are meant for the shopper."""


class CheckoutError(Exception):
    """A checkout that cannot start; the message is meant for the shopper."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InsufficientStock(CheckoutError):
    """Some lines cannot be held; `problems` maps each product id to the reason, and
    `names` (when the service knew them) each such product id to its name."""

    def __init__(self, problems: dict[int, str], names: dict[int, str] | None = None) -> None:
        self.problems = problems
        self.names = names or {}
        super().__init__("Some items are no longer available in the quantity you chose.")


class BelowMinimumCharge(CheckoutError):
    """The order comes to less than Stripe's minimum charge (theme.money.minimum_charge);
    the message names both amounts. Nothing was created."""


class PaymentUnavailable(CheckoutError):
    """Stripe is slow or failing (or its breaker is open): nothing was charged."""

    def __init__(self) -> None:
        super().__init__("Payments are slow right now; nothing was charged; try again in a minute.")


class PaymentRefused(CheckoutError):
    """Stripe refused to open the Checkout Session (a 4xx): asking again will not help."""

    def __init__(self) -> None:
        super().__init__(
            "Our payment provider could not start this checkout. Nothing was charged; please "
            "contact us if this happens again."
        )


class UnknownOrder(Exception):
    """A Stripe object that names no order of this shop."""
