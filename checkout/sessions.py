"""Stripe's objects as the shop reads them, plain data the gateway returns.

A Checkout Session is parsed the same way whether retrieved from Stripe or carried by a
signed webhook event: one parser for both, so an order confirmed by the webhook has the
same address, shipping, tax and discount as one confirmed by the success page.
The gateway turns the SDK's objects into dicts before parsing; nothing here imports
stripe.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")
# A complete session's payment_status that is final: the shop fulfils on either.
PAID_STATUSES = frozenset({"paid", "no_payment_required"})


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    status: str  # open / complete / expired
    payment_status: str  # paid / unpaid / no_payment_required
    url: str | None
    amount_total: int | None
    currency: str
    client_reference_id: str | None
    payment_intent: str | None
    expires_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    livemode: bool = False
    # Shipping, as Stripe reports it (collected_information.shipping_details since API
    # 2025-03-31; the top-level shipping_details before).
    shipping_name: str = ""
    shipping_address: dict[str, str] = field(default_factory=dict)
    shipping_amount: int = 0  # shipping_cost.amount_subtotal: before tax
    shipping_rate: str | None = None  # the chosen shr_ id
    # The shr_ ids of the offered options, in the order the shop gave them.
    shipping_options: tuple[str, ...] = ()
    amount_subtotal: int | None = None
    amount_tax: int = 0
    amount_discount: int = 0

    @property
    def order_id(self) -> int | None:
        raw = self.client_reference_id or self.metadata.get("order_id")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def is_settled(self) -> bool:
        """Whether what the shop acts on in this session can no longer change: complete
        and paid (or needing no payment), or expired. A session never leaves `complete`
        or `expired`, and a complete session's `paid` is final (a later refund belongs to
        the charge, not the session). A signed event carrying such a session says what
        reading it again would say (docs/DESIGN-notes.md, "Signed sessions")."""
        if self.status == "expired":
            return True
        return self.status == "complete" and self.payment_status in PAID_STATUSES

    @property
    def chosen_option_index(self) -> int | None:
        """Which of the offered shipping options the shopper chose, or None."""
        if self.shipping_rate is None or self.shipping_rate not in self.shipping_options:
            return None
        return self.shipping_options.index(self.shipping_rate)


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _shipping_details(data: dict[str, Any]) -> dict[str, Any]:
    collected = data.get("collected_information") or {}
    details = collected.get("shipping_details") or data.get("shipping_details") or {}
    return details if isinstance(details, dict) else {}


def session_parse(data: dict[str, Any]) -> CheckoutSession:
    """The session in `data` (a Checkout Session object as plain JSON data)."""
    expires_at = data.get("expires_at")
    details = _shipping_details(data)
    address = details.get("address") or {}
    shipping_cost = data.get("shipping_cost") or {}
    totals = data.get("total_details") or {}
    options = data.get("shipping_options") or []
    return CheckoutSession(
        id=data["id"],
        status=data.get("status") or "open",
        payment_status=data.get("payment_status") or "unpaid",
        url=data.get("url"),
        amount_total=data.get("amount_total"),
        currency=(data.get("currency") or "").lower(),
        client_reference_id=data.get("client_reference_id"),
        payment_intent=_id_of(data.get("payment_intent")),
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC) if expires_at else None,
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        livemode=bool(data.get("livemode")),
        shipping_name=str(details.get("name") or ""),
        shipping_address={
            key: str(address.get(key) or "") for key in ADDRESS_FIELDS if address.get(key)
        },
        shipping_amount=_int(shipping_cost.get("amount_subtotal")),
        shipping_rate=_id_of(shipping_cost.get("shipping_rate")),
        shipping_options=tuple(
            rate for rate in (_id_of(option.get("shipping_rate")) for option in options) if rate
        ),
        amount_subtotal=data.get("amount_subtotal"),
        amount_tax=_int(totals.get("amount_tax")),
        amount_discount=_int(totals.get("amount_discount")),
    )


@dataclass(frozen=True)
class ShippingOption:
    """A delivery option offered with one checkout (the shop's rate, priced for it)."""

    rate_id: int
    name: str
    amount: int
    min_days: int | None = None
    max_days: int | None = None
    tax_behavior: str = "unspecified"
    tax_code: str = ""

    def as_stripe(self, *, currency: str) -> dict[str, Any]:
        """`shipping_options[]` entry: inline shipping_rate_data carrying the rate id."""
        data: dict[str, Any] = {
            "type": "fixed_amount",
            "fixed_amount": {"amount": self.amount, "currency": currency},
            "display_name": self.name,
            "metadata": {"rate_id": str(self.rate_id)},
        }
        estimate = {
            bound: {"unit": "business_day", "value": days}
            for bound, days in (("minimum", self.min_days), ("maximum", self.max_days))
            if days is not None
        }
        if estimate:
            data["delivery_estimate"] = estimate
        if self.tax_behavior != "unspecified":
            data["tax_behavior"] = self.tax_behavior
        if self.tax_code:
            data["tax_code"] = self.tax_code
        return {"shipping_rate_data": data}


@dataclass(frozen=True)
class LineItem:
    """One line of a checkout as Stripe is asked to charge it."""

    name: str
    unit_amount: int
    quantity: int
    tax_code: str = ""

    def as_stripe(self, *, currency: str, tax_behavior: str | None) -> dict[str, Any]:
        product: dict[str, Any] = {"name": self.name}
        if self.tax_code:
            product["tax_code"] = self.tax_code
        price: dict[str, Any] = {
            "currency": currency,
            "unit_amount": self.unit_amount,
            "product_data": product,
        }
        if tax_behavior:
            price["tax_behavior"] = tax_behavior
        return {"price_data": price, "quantity": self.quantity}


@dataclass(frozen=True)
class TaxAndDiscounts:
    """How a checkout asks Stripe for tax and promotion codes (from settings)."""

    automatic_tax: bool = False
    tax_behavior: str | None = None  # inclusive / exclusive, sent with each price
    allow_promotion_codes: bool = False


@dataclass(frozen=True)
class Charge:
    id: str
    payment_intent: str | None
    amount: int
    amount_refunded: int
    refunded: bool  # refunded in full
    currency: str


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending / requires_action / succeeded / failed / canceled
    payment_intent: str | None
    amount: int


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]
    payload: dict[str, Any]

    @property
    def livemode(self) -> bool:
        return bool(self.payload.get("livemode"))
