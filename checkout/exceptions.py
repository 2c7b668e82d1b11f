"""What checkout's services raise. Messages of CheckoutError are meant for the shopper."""


class CheckoutError(Exception):
    """A checkout that cannot start; the message is meant for the shopper."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InsufficientStock(CheckoutError):
    """Some lines cannot be held; `problems` maps each product id to the reason."""

    def __init__(self, problems: dict[int, str]) -> None:
        self.problems = problems
        super().__init__("Some items are no longer available in the quantity you chose.")


class PaymentUnavailable(CheckoutError):
    def __init__(self) -> None:
        super().__init__(
            "We could not reach our payment provider. Nothing was charged; please try again "
            "in a minute."
        )


class UnknownOrder(Exception):
    """A Stripe object that names no order of this shop."""
