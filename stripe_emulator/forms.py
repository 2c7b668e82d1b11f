"""Decode Stripe's form encoding: ``a[b][0][c]=1`` becomes ``{"a": {"b": [{"c": "1"}]}}``."""

import re
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class FormError(ValueError):
    """The body or query string cannot be decoded; ``param`` names the culprit."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def parse_form(text: str) -> dict:
    """Parse a form-encoded string into nested dicts and lists (all leaves are strings)."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise FormError(f"Invalid form encoding: {exc}") from exc
    root: dict = {}
    counters: dict[str, int] = {}
    for key, value in pairs:
        while "[]" in key:  # "expand[]=a&expand[]=b" -> expand[0], expand[1]
            prefix = key[: key.index("[]")]
            index = counters.get(prefix, 0)
            counters[prefix] = index + 1
            key = f"{prefix}[{index}]{key[len(prefix) + 2 :]}"
        match = _KEY.match(key)
        if not match:
            raise FormError(f"Invalid parameter name: {key}", key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if part in node:
                    raise FormError(f"Parameter given more than once: {key}", key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise FormError(f"Parameter is both a value and a hash: {key}", key)
                node = child
    return _listify(root, "")


def _listify(node, path: str):
    """Turn dicts whose keys are all integers (0..n-1) into lists, recursively."""
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v, f"{path}[{k}]" if path else k) for k, v in node.items()}
    if out and all(k.isdigit() and k == str(int(k)) for k in out):
        indexes = sorted(int(k) for k in out)
        if indexes != list(range(len(indexes))):
            raise FormError(f"Array indexes of {path} must run from 0 without gaps", path)
        return [out[str(i)] for i in indexes]
    return out
