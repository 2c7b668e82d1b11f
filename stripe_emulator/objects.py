"""Stripe-shaped objects, each built from a deep copy of Stripe's own fixture object.

Starting from the fixture guarantees every key Stripe documents is present; the builders
then overwrite what the emulator knows and null out what does not apply.
"""

import copy
import json
import secrets
import string
from pathlib import Path

API_VERSION = "2026-10-28.endive"
FIXTURES: dict = json.loads(Path(__file__).with_name("fixtures.json").read_text())

_ALPHABET = string.ascii_letters + string.digits
_NULL_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _base(name: str) -> dict:
    return copy.deepcopy(FIXTURES[name])


def list_object(data: list, url: str, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def line_item(price_obj: dict, description: str, quantity: int) -> dict:
    """A session line; amounts are filled in by ``pricing.update_totals``."""
    obj = _base("item")
    amount = price_obj["unit_amount"] * quantity
    obj.update(
        id=new_id("li_"),
        amount_discount=0,
        amount_subtotal=amount,
        amount_tax=0,
        amount_total=amount,
        currency=price_obj["currency"],
        description=description,
        quantity=quantity,
        metadata={},
        adjustable_quantity=None,
        price=copy.deepcopy(price_obj),
    )
    return obj


def checkout_session(params: dict, items: list, created: int, expires_at: int, url: str) -> dict:
    obj = _base("checkout.session")
    total = sum(item["amount_total"] for item in items)
    sid = url.rsplit("/", 1)[-1]
    obj.update(
        id=sid,
        adaptive_pricing={"enabled": False},
        after_expiration=None,
        allow_promotion_codes=None,
        amount_subtotal=total,
        amount_total=total,
        automatic_tax={"enabled": False, "liability": None, "status": None, "provider": None},
        billing_address_collection=None,
        cancel_url=params.get("cancel_url"),
        client_reference_id=params.get("client_reference_id"),
        client_secret=None,
        collected_information=None,
        consent=None,
        consent_collection=None,
        created=created,
        currency=items[0]["currency"],
        currency_conversion=None,
        custom_fields=[],
        custom_text={
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        customer=None,
        customer_account=None,
        customer_creation="if_required",
        customer_details=None,
        customer_email=params.get("customer_email"),
        discounts=[],
        expires_at=expires_at,
        integration_identifier=None,
        invoice=None,
        invoice_creation={
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        livemode=False,
        locale=params.get("locale"),
        managed_payments={"enabled": False},
        metadata=params.get("metadata") or {},
        mode="payment",
        origin_context=None,
        payment_intent=None,
        payment_link=None,
        payment_method_collection="if_required",
        payment_method_configuration_details=None,
        payment_method_options={},
        payment_method_types=params.get("payment_method_types") or ["card"],
        payment_status="unpaid",
        permissions=None,
        phone_number_collection={"enabled": False},
        recovered_from=None,
        saved_payment_method_options=None,
        setup_intent=None,
        shipping_address_collection=None,
        shipping_cost=None,
        shipping_options=[],
        status="open",
        submit_type=params.get("submit_type"),
        subscription=None,
        success_url=params["success_url"],
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        ui_mode="hosted_page",  # API 2026-10-28 says hosted_page (older: hosted)
        url=url,
        wallet_options=None,
    )
    return obj


def shipping_rate(data: dict, created: int) -> dict:
    """A fixed-amount shipping rate; ``data`` is validated ``shipping_rate_data``."""
    obj = _base("shipping_rate")
    obj.update(
        id=new_id("shr_"),
        active=True,
        created=created,
        delivery_estimate=data.get("delivery_estimate"),
        display_name=data["display_name"],
        fixed_amount={"amount": data["amount"], "currency": data["currency"]},
        livemode=False,
        metadata=dict(data.get("metadata") or {}),
        tax_behavior=data.get("tax_behavior") or "unspecified",
        tax_code=data.get("tax_code"),
        type="fixed_amount",
    )
    return obj


def product(data: dict, created: int) -> dict:
    obj = _base("product")
    obj.update(
        id=new_id("prod_", 14),
        active=data.get("active", True),
        created=created,
        default_price=None,
        description=data.get("description"),
        images=list(data.get("images") or []),
        livemode=False,
        marketing_features=[],
        metadata=dict(data.get("metadata") or {}),
        name=data["name"],
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=data.get("tax_code"),
        unit_label=None,
        updated=created,
        url=None,
        type="service",
    )
    return obj


def price(data: dict, product_id: str, created: int, active: bool = True) -> dict:
    """A one-time price; inline ``price_data`` prices are made inactive, as Stripe does."""
    obj = _base("price")
    obj.update(
        id=new_id("price_"),
        active=active,
        billing_scheme="per_unit",
        created=created,
        currency=data["currency"],
        custom_unit_amount=None,
        livemode=False,
        lookup_key=data.get("lookup_key"),
        metadata=dict(data.get("metadata") or {}),
        nickname=data.get("nickname"),
        product=product_id,
        recurring=None,
        tax_behavior=data.get("tax_behavior") or "unspecified",
        tiers_mode=None,
        transform_quantity=None,
        type="one_time",
        unit_amount=data["unit_amount"],
        unit_amount_decimal=str(data["unit_amount"]),
    )
    return obj


def coupon(data: dict, created: int) -> dict:
    obj = _base("coupon")
    obj.update(
        id=data.get("id") or new_id("", 8),
        amount_off=data.get("amount_off"),
        created=created,
        currency=data.get("currency"),
        duration=data.get("duration") or "once",
        duration_in_months=data.get("duration_in_months"),
        livemode=False,
        max_redemptions=data.get("max_redemptions"),
        metadata=dict(data.get("metadata") or {}),
        name=data.get("name"),
        percent_off=data.get("percent_off"),
        redeem_by=data.get("redeem_by"),
        times_redeemed=0,
        valid=True,
    )
    return obj


def promotion_code(data: dict, created: int) -> dict:
    obj = _base("promotion_code")
    restrictions = data.get("restrictions") or {}
    obj.update(
        id=new_id("promo_"),
        active=data.get("active", True),
        code=data["code"],
        created=created,
        customer=None,
        customer_account=None,
        expires_at=data.get("expires_at"),
        livemode=False,
        max_redemptions=data.get("max_redemptions"),
        metadata=dict(data.get("metadata") or {}),
        promotion={"coupon": data["coupon"], "type": "coupon"},
        restrictions={
            "first_time_transaction": False,
            "minimum_amount": restrictions.get("minimum_amount"),
            "minimum_amount_currency": restrictions.get("minimum_amount_currency"),
        },
        times_redeemed=0,
    )
    return obj


def shipping_cost(rate_id: str) -> dict:
    return {"amount_subtotal": 0, "amount_tax": 0, "amount_total": 0, "shipping_rate": rate_id}


def address(fields: dict | None) -> dict:
    return {**_NULL_ADDRESS, **(fields or {})}


def collected_information(name: str, shipping_address: dict) -> dict:
    return {
        "business_name": None,
        "individual_name": None,
        "shipping_details": {"address": address(shipping_address), "name": name},
    }


def customer_details(email: str) -> dict:
    return {
        "address": dict(_NULL_ADDRESS),
        "email": email,
        "name": None,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }


def payment_intent(session: dict, metadata: dict, method_type: str, created: int) -> dict:
    obj = _base("payment_intent")
    pid = new_id("pi_")
    obj.update(
        id=pid,
        amount=session["amount_total"],
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        automatic_payment_methods=None,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic_async",
        client_secret=f"{pid}_secret_{new_id('', 25)}",
        created=created,
        currency=session["currency"],
        customer=None,
        customer_account=None,
        description=None,
        excluded_payment_method_types=None,
        last_payment_error=None,
        latest_charge=None,
        livemode=False,
        managed_payments=None,
        metadata=dict(metadata),
        next_action=None,
        payment_method=new_id("pm_"),
        payment_method_configuration_details=None,
        payment_method_options={},
        payment_method_types=[method_type],
        processing=None,
        receipt_email=None,
        shipping=None,
        source=None,
        status="requires_payment_method",
        transfer_data=None,
    )
    return obj


def charge(intent: dict, email: str, card_number: str, method_type: str, created: int) -> dict:
    obj = _base("charge")
    cid = new_id("ch_")
    obj.update(
        id=cid,
        amount=intent["amount"],
        amount_captured=0,
        amount_refunded=0,
        balance_transaction=None,
        billing_details={
            "address": dict(_NULL_ADDRESS),
            "email": email,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        calculated_statement_descriptor="STRIPE EMULATOR",
        captured=False,
        created=created,
        currency=intent["currency"],
        description=None,
        metadata=dict(intent["metadata"]),
        outcome=None,
        paid=False,
        payment_intent=intent["id"],
        payment_method=intent["payment_method"],
        receipt_email=email,
        receipt_url=f"https://pay.stripe.com/receipts/emulator/{cid}",
        refunded=False,
        refunds=list_object([], f"/v1/charges/{cid}/refunds"),
        shipping=None,
        source=None,
        status="pending",
        transfer_data=None,
    )
    details = obj["payment_method_details"]
    if method_type == "card":
        details["card"].update(
            last4=card_number[-4:],
            fingerprint=new_id("", 16),
            exp_month=12,
            exp_year=2034,
            wallet=None,
            overcapture={"maximum_amount_capturable": intent["amount"], "status": "unavailable"},
        )
    else:
        details["card"] = None
        details[method_type] = {"last4": card_number[-4:]}
    details["type"] = method_type
    return obj


def charge_outcome(paid: bool, message: str | None = None) -> dict:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network" if paid else "declined_by_network",
        "reason": None,
        "risk_level": "normal",
        "seller_message": "Payment complete." if paid else (message or "Payment failed."),
        "type": "authorized" if paid else "issuer_declined",
    }


def refund(charge_obj: dict, amount: int, reason: str | None, metadata: dict, created: int) -> dict:
    obj = _base("refund")
    method_type = charge_obj["payment_method_details"]["type"]
    if method_type == "card":
        destination = {"card": {"type": "refund"}, "type": "card"}
    else:
        destination = {"card": None, "type": method_type, method_type: {}}
    obj.update(
        id=new_id("re_"),
        amount=amount,
        balance_transaction=new_id("txn_"),
        charge=charge_obj["id"],
        created=created,
        currency=charge_obj["currency"],
        destination_details=destination,
        metadata=dict(metadata),
        payment_intent=charge_obj["payment_intent"],
        payment_method=charge_obj["payment_method"],
        reason=reason,
        status="succeeded",
    )
    return obj


def event(
    event_type: str, data_object: dict, created: int, pending: int, request: dict | None
) -> dict:
    obj = _base("event")
    obj.update(
        id=new_id("evt_"),
        api_version=API_VERSION,
        created=created,
        data={"object": copy.deepcopy(data_object)},
        livemode=False,
        pending_webhooks=pending,
        request=request or {"id": None, "idempotency_key": None},
        type=event_type,
    )
    return obj
