"""The hosted payment page: plain HTML with inline CSS, no JavaScript, no external assets."""

from html import escape

from .store import format_amount

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  background: #f6f9fc; color: #1a1f36; }
main { max-width: 32rem; margin: 2rem auto; padding: 2rem; background: #fff;
  border-radius: 12px; box-shadow: 0 2px 12px rgba(50, 50, 93, .12); }
h1 { font-size: 1.25rem; margin: 0 0 1rem; }
.badge { display: inline-block; font-size: .75rem; padding: .1rem .5rem; border-radius: 4px;
  background: #ffde92; color: #5e3b00; margin-bottom: 1rem; }
table { width: 100%; border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { padding: .4rem 0; text-align: left; border-bottom: 1px solid #e3e8ee; }
td.num, th.num { text-align: right; }
tfoot td { font-weight: 700; border-bottom: 0; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=email], input[type=text], select { width: 100%; padding: .6rem .7rem; font: inherit;
  border: 1px solid #c1c9d2; border-radius: 6px; }
fieldset { border: 1px solid #c1c9d2; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem; }
fieldset label { display: inline; font-weight: 400; margin: 0 1rem 0 .3rem; }
button { width: 100%; padding: .8rem; font: inherit; font-weight: 600; color: #fff;
  background: #635bff; border: 0; border-radius: 6px; cursor: pointer; margin-top: 1rem; }
button:focus, input:focus, a:focus { outline: 3px solid #a5b4fc; outline-offset: 1px; }
button.secondary { width: auto; padding: .4rem .8rem; margin-top: .5rem; color: #1a1f36;
  background: #e3e8ee; }
.error { color: #b3093c; background: #fde8ee; padding: .6rem .8rem; border-radius: 6px; }
.hint { color: #4f566b; font-size: .85rem; }
a { color: #4b44d6; }
"""


def _layout(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def needs_billing_country(session: dict) -> bool:
    """The page asks for a billing country when tax needs one or the session requires it."""
    if session["billing_address_collection"] == "required":
        return True
    return session["automatic_tax"]["enabled"] and not session["shipping_address_collection"]


def _estimate(rate: dict) -> str:
    estimate = rate["delivery_estimate"] or {}
    low, high = estimate.get("minimum"), estimate.get("maximum")
    if not low and not high:
        return ""
    unit = ((low or high)["unit"]).replace("_", " ")
    if low and high:
        return f" ({low['value']}–{high['value']} {unit}s)"
    bound = low or high
    return f" ({'at least' if low else 'up to'} {bound['value']} {unit}s)"


def _select(name: str, label: str, choices: list[str], chosen: str) -> str:
    options = "".join(
        f'<option value="{escape(c)}"{" selected" if c == chosen else ""}>{escape(c)}</option>'
        for c in choices
    )
    return (
        f'<label for="{name}">{label}</label>\n<select id="{name}" name="{name}">{options}</select>'
    )


def _text(name: str, label: str, value: str, autocomplete: str, required: bool = True) -> str:
    req = " required" if required else ""
    return (
        f'<label for="{name}">{label}</label>\n<input type="text" id="{name}" name="{name}" '
        f'value="{escape(value)}" autocomplete="{autocomplete}"{req}>'
    )


def _shipping_fields(session: dict, rates: list, form: dict) -> str:
    html = ""
    collection = session["shipping_address_collection"]
    if collection:
        countries = collection["allowed_countries"]
        html += (
            "<fieldset>\n<legend>Shipping address</legend>\n"
            + _text("shipping_name", "Full name", form.get("shipping_name", ""), "shipping name")
            + _text("shipping_line1", "Address", form.get("shipping_line1", ""), "address-line1")
            + _text(
                "shipping_line2",
                "Address line 2",
                form.get("shipping_line2", ""),
                "address-line2",
                required=False,
            )
            + _text(
                "shipping_postal_code",
                "Postal code",
                form.get("shipping_postal_code", ""),
                "postal-code",
                required=False,
            )
            + _text("shipping_city", "City", form.get("shipping_city", ""), "address-level2")
            + _text(
                "shipping_state",
                "State or region",
                form.get("shipping_state", ""),
                "address-level1",
                required=False,
            )
            + _select(
                "shipping_country",
                "Country",
                countries,
                form.get("shipping_country", countries[0]),
            )
            + "\n</fieldset>\n"
        )
    if rates:
        chosen = form.get("shipping_rate")
        if chosen is None:
            current = session["shipping_cost"]["shipping_rate"]
            chosen = str(next(i for i, r in enumerate(rates) if r["id"] == current))
        radios = "\n".join(
            f'<input type="radio" id="shipping_rate_{i}" name="shipping_rate" value="{i}"'
            f"{' checked' if str(i) == chosen else ''}>\n"
            f'<label for="shipping_rate_{i}">{escape(rate["display_name"])}: '
            f"{escape(format_amount(rate['fixed_amount']['amount'], session['currency']))}"
            f"{escape(_estimate(rate))}</label><br>"
            for i, rate in enumerate(rates)
        )
        html += f"<fieldset>\n<legend>Shipping method</legend>\n{radios}\n</fieldset>\n"
    return html


def _summary_rows(session: dict) -> str:
    currency = session["currency"]
    details = session["total_details"]
    rows = []
    if details["amount_discount"]:
        amount = format_amount(-details["amount_discount"], currency)
        rows.append(("Discount", "discount", amount))
    if session["shipping_cost"] is not None:
        rows.append(("Shipping", "shipping", format_amount(details["amount_shipping"], currency)))
    if session["automatic_tax"]["enabled"]:
        if session["automatic_tax"]["status"] == "complete":
            rows.append(("Tax", "tax", format_amount(details["amount_tax"], currency)))
        else:
            rows.append(("Tax", "tax", "calculated from your address"))
    return "\n".join(
        f'<tr><td colspan="2">{label}</td><td class="num" id="{ident}">{escape(value)}</td></tr>'
        for label, ident, value in rows
    )


def checkout_page(
    session: dict,
    items: list,
    error: str | None = None,
    email: str | None = None,
    card: str = "",
    delayed: bool = False,
    rates: list | None = None,
    form: dict | None = None,
    countries: list[str] | None = None,
) -> str:
    """The payment form; ``form`` holds what the shopper typed (field name -> value)."""
    form = form or {}
    rates = rates or []
    sid = escape(session["id"])
    currency = session["currency"]
    rows = "\n".join(
        f'<tr><td>{escape(item["description"])}</td><td class="num">{item["quantity"]}</td>'
        f'<td class="num">{escape(format_amount(item["amount_subtotal"], currency))}</td></tr>'
        for item in items
    )
    total = escape(format_amount(session["amount_total"], currency))
    email_value = escape(email if email is not None else session["customer_email"] or "")
    back = ""
    if session["cancel_url"]:
        back = f'<p><a href="{escape(session["cancel_url"])}">← Back to shop</a></p>'
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    card_checked = "" if delayed else " checked"
    delayed_checked = " checked" if delayed else ""
    extra = _shipping_fields(session, rates, form)
    if needs_billing_country(session):
        chosen = form.get("billing_country", countries[0] if countries else "")
        extra += _select("billing_country", "Billing country", countries or [], chosen) + "\n"
    promo = ""
    if session["allow_promotion_codes"]:
        # A form of its own, so that Enter in the payment form pays rather than applies.
        applied = ""
        if session["discounts"]:
            applied = '<p class="hint" role="status">Promotion code applied.</p>\n'
        promo = (
            f'<form method="post" action="/pay/{sid}">\n'
            '<input type="hidden" name="action" value="apply">\n'
            '<label for="promotion_code">Promotion code</label>\n'
            '<input type="text" id="promotion_code" name="promotion_code" '
            f'value="{escape(form.get("promotion_code", ""))}" autocomplete="off">\n'
            '<button type="submit" class="secondary">Apply code</button>\n'
            f"{applied}</form>\n"
        )
    body = f"""<span class="badge">Test mode (Stripe emulator)</span>
<h1>Pay {total}</h1>
<table>
<caption class="hint">Order summary</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th>
<th scope="col" class="num">Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>
{_summary_rows(session)}
<tr><td colspan="2">Total</td><td class="num" id="total">{total}</td></tr></tfoot>
</table>
{error_html}
{promo}<form method="post" action="/pay/{sid}">
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{email_value}" autocomplete="email" required>
{extra}<label for="card_number">Card number</label>
<input type="text" id="card_number" name="card_number" value="{escape(card)}"
 inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242">
<p class="hint">4242 4242 4242 4242 pays; 4000 0000 0000 0002 and
4000 0000 0000 9995 are declined.</p>
<fieldset>
<legend>Payment method</legend>
<input type="radio" id="method_card" name="method" value="card"{card_checked}>
<label for="method_card">Card</label>
<input type="radio" id="method_delayed" name="method" value="delayed"{delayed_checked}>
<label for="method_delayed">Delayed bank payment</label>
</fieldset>
<button type="submit">Pay {total}</button>
</form>
{back}"""
    return _layout(f"Pay {format_amount(session['amount_total'], currency)}", body)


def closed_page(session: dict) -> str:
    status = session["status"]
    if status == "complete":
        link = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        text = "Return to shop"
    else:
        link = session["cancel_url"] or session["success_url"].split("?")[0]
        text = "← Back to shop"
    body = (
        f"<h1>This checkout session is {escape(status)}</h1>\n"
        f"<p>Checkout session <code>{escape(session['id'])}</code> can no longer be paid.</p>\n"
        f'<p><a href="{escape(link)}">{text}</a></p>'
    )
    return _layout(f"Checkout session {status}", body)


def not_found_page(sid: str) -> str:
    body = (
        "<h1>Checkout session not found</h1>\n"
        f"<p>There is no checkout session <code>{escape(sid)}</code>.</p>"
    )
    return _layout("Checkout session not found", body)
