"""Parameter checks shared by the API's handlers; failures raise StripeError (Stripe's envelope)."""

import re

MAX_AMOUNT = 99_999_999


class StripeError(Exception):
    """An error answered in Stripe's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self) -> dict:
        """Stripe's envelope; ``code``, ``param`` and ``doc_url`` only where they apply."""
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str, code: str | None = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param)


def no_such(kind: str, ident: str, param: str = "id") -> StripeError:
    """A missing object: 404 when the URL names it (param ``id``), 400 when a parameter does."""
    status = 404 if param == "id" else 400
    return StripeError(status, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


def reject_unknown(params: dict, allowed: set, prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )


def as_int(value, param: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(param, f"Invalid integer: {value!r}", "parameter_invalid_integer")
    if isinstance(value, str):
        if not re.fullmatch(r"-?\d{1,18}", value.strip()):
            raise invalid(param, f"Invalid integer: {value}", "parameter_invalid_integer")
        value = int(value)
    if minimum is not None and value < minimum:
        raise invalid(param, f"This value must be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid(param, f"This value must be less than or equal to {maximum}.")
    return value


def as_str(value, param: str, max_len: int = 5000, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str):
        raise invalid(
            param, f"Invalid string: {param} must be a string.", "parameter_invalid_string"
        )
    if required and not value.strip():
        raise invalid(param, f"{param} cannot be empty.", "parameter_invalid_empty")
    if len(value) > max_len:
        raise invalid(param, f"{param} must be at most {max_len} characters.")
    return value


def as_hash(value, param: str) -> dict:
    if value is None:
        return {}
    if value == "":  # Stripe accepts an empty string to mean "empty hash"
        return {}
    if not isinstance(value, dict):
        raise invalid(param, f"Invalid hash: {param} must be a hash.", "parameter_invalid_hash")
    return value


def as_metadata(value, param: str) -> dict:
    meta = as_hash(value, param)
    if len(meta) > 50:
        raise invalid(param, "Metadata can have at most 50 keys.")
    for key, val in meta.items():
        if len(key) > 40:
            raise invalid(f"{param}[{key}]", "Metadata keys can be at most 40 characters long.")
        if not isinstance(val, str):
            raise invalid(f"{param}[{key}]", "Metadata values must be strings.")
        if len(val) > 500:
            raise invalid(f"{param}[{key}]", "Metadata values can be at most 500 characters long.")
    return dict(meta)


def as_url(value, param: str, required: bool) -> str | None:
    url = as_str(value, param, 5000, required)
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise invalid(param, f"Not a valid URL: {url}", "url_invalid")
    return url


def as_expand(params: dict) -> list[str]:
    expand = params.get("expand") or []
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, list) or not all(isinstance(e, str) for e in expand):
        raise invalid("expand", "Invalid array: expand must be a list of strings.")
    return expand


def as_bool(value, param: str, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(param, f"Invalid boolean: {value}", "parameter_invalid_boolean")


def as_currency(value, param: str) -> str:
    currency = as_str(value, param, 3, required=True)
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise invalid(param, f"Invalid currency: {currency}")
    return currency.lower()
