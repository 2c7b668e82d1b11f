"""Reading the shop's HTML in tests, the way a shopper or a screen reader finds things.

Elements are found by id, by role and accessible name, by data-testid, by a form
field's name, or by their text; never by styling classes, which change with the
design (STYLE.md, Tests). A class may still be read from an element found otherwise,
where the class is what a test is about (a badge's colour).

    button = one(html, role="button", name="Check out")
    assert button.get("disabled") is None
    assert one(html, testid="cart-total").text == "€36.50"

Roles are explicit (role="...") or implied by the tag, as in ARIA in HTML: <button>,
<a href>, <h1>-<h6>, <ul>, <li>, <main>, <nav>, ... Text comes in two readings:
`text`, what a screen reader hears (aria-hidden parts left out), and `seen`, what is
on screen (visually hidden parts left out). Tailwind's `sr-only` is how the shop hides
text visually; this module is the one place in the suite that knows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
UNRENDERED = frozenset({"script", "style", "template", "title", "head"})
VISUALLY_HIDDEN = "sr-only"

INPUT_ROLES = {
    "button": "button",
    "submit": "button",
    "reset": "button",
    "image": "button",
    "checkbox": "checkbox",
    "radio": "radio",
    "number": "spinbutton",
    "range": "slider",
    "search": "searchbox",
    "email": "textbox",
    "tel": "textbox",
    "text": "textbox",
    "url": "textbox",
}
TAG_ROLES = {
    "article": "article",
    "aside": "complementary",
    "button": "button",
    "dialog": "dialog",
    "footer": "contentinfo",
    "form": "form",
    "header": "banner",
    "li": "listitem",
    "main": "main",
    "nav": "navigation",
    "ol": "list",
    "option": "option",
    "table": "table",
    "td": "cell",
    "textarea": "textbox",
    "th": "columnheader",
    "tr": "row",
    "ul": "list",
    **{f"h{level}": "heading" for level in range(1, 7)},
}
# Roles whose accessible name, when no label gives one, is their text.
NAMED_BY_CONTENT = frozenset(
    [
        "button",
        "cell",
        "checkbox",
        "columnheader",
        "heading",
        "link",
        "listitem",
        "menuitem",
        "option",
        "radio",
        "row",
        "tab",
    ]
)


class Element:
    """One element of a parsed page; `children` holds elements and text, in order."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    def __repr__(self) -> str:
        shown = " ".join(f'{k}="{v}"' for k, v in self.attrs.items() if k != "class")
        return f"<{self.tag} {shown}>".replace(" >", ">")

    # -- attributes ---------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        """An attribute's value; "" for a boolean attribute (disabled), None if absent."""
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.attrs

    @property
    def classes(self) -> list[str]:
        return (self.get("class") or "").split()

    @property
    def role(self) -> str:
        explicit = (self.get("role") or "").split()
        if explicit:
            return explicit[0]
        if self.tag == "a":
            return "link" if self.has("href") else ""
        if self.tag == "input":
            return INPUT_ROLES.get(self.get("type") or "text", "")
        if self.tag == "select":
            return "listbox" if self.has("multiple") else "combobox"
        if self.tag == "img":
            return "img" if self.get("alt") != "" else "presentation"
        if self.tag == "section":
            return "region" if self.has("aria-label") or self.has("aria-labelledby") else ""
        return TAG_ROLES.get(self.tag, "")

    # -- text ---------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """What a screen reader hears, whitespace collapsed: aria-hidden parts left out."""
        return _collapse(self._text(skip=_aria_hidden))

    @property
    def seen(self) -> str:
        """What is on screen, whitespace collapsed: visually hidden (sr-only) parts left out."""
        return _collapse(self._text(skip=_visually_hidden))

    @property
    def name(self) -> str:
        """The accessible name (simplified): aria-labelledby, aria-label, a <label for>,
        an image's alt, or, for buttons, links, headings and the like, their text."""
        if labelledby := self.get("aria-labelledby"):
            root = self.root()
            parts = (root.find(id=ident) for ident in labelledby.split())
            return _collapse(" ".join(part.text for part in parts if part is not None))
        if label := self.get("aria-label"):
            return _collapse(label)
        if self.tag in ("input", "select", "textarea") and self.has("id"):
            label = self.root().find(tag="label", attrs={"for": self.get("id")})
            if label is not None:
                return label.text
        if self.tag == "img":
            return _collapse(self.get("alt") or "")
        if self.role in NAMED_BY_CONTENT:
            return self.text
        return _collapse(self.get("title") or "")

    def _text(self, skip) -> str:
        if skip(self):
            return ""
        return "".join(
            child if isinstance(child, str) else child._text(skip) for child in self.children
        )

    # -- finding ------------------------------------------------------------------------

    def root(self) -> Element:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None and node.tag != "#document":
            yield node
            node = node.parent

    def descendants(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.descendants()

    def find_all(self, **criteria) -> list[Element]:
        """Descendants matching every criterion, in document order. Criteria:

        id, testid (data-testid), tag, role, name (accessible name), text (what a screen
        reader hears; the innermost element only), field (a form field's name attribute),
        attrs ({"data-step": "paid"}; None as a value: present with any value).
        A str matches exactly (whitespace collapsed); a compiled pattern is searched.
        """
        return [element for element in self.descendants() if element._matches(**criteria)]

    def find(self, **criteria) -> Element | None:
        """The first descendant matching (see find_all), or None."""
        return next(iter(self.find_all(**criteria)), None)

    def one(self, **criteria) -> Element:
        """The only descendant matching (see find_all); fails the test otherwise."""
        found = self.find_all(**criteria)
        assert len(found) == 1, f"expected one element with {criteria}, found {found}"
        return found[0]

    def closest(self, **criteria) -> Element | None:
        """This element or its nearest ancestor matching (see find_all)."""
        for node in (self, *self.ancestors()):
            if node._matches(**criteria):
                return node
        return None

    def _matches(
        self,
        id=None,
        testid=None,
        tag=None,
        role=None,
        name=None,
        text=None,
        field=None,
        attrs=None,
    ) -> bool:
        wanted = {"id": id, "data-testid": testid, "name": field, **(attrs or {})}
        for attribute, value in wanted.items():
            if value is None and attribute in (attrs or {}):
                if not self.has(attribute):
                    return False
            elif value is not None and self.get(attribute) != str(value):
                return False
        if tag is not None and self.tag != tag:
            return False
        if role is not None and self.role != role:
            return False
        if name is not None and not _same(name, self.name):
            return False
        if text is not None:
            # The innermost element with this text, not each of its ancestors.
            if not _same(text, self.text):
                return False
            if any(_same(text, child.text) for child in self.descendants()):
                return False
        return True


def parse(html: str) -> Element:
    """The document: an element whose descendants are the page's elements."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.document


def _page(html: str | Element) -> Element:
    return html if isinstance(html, Element) else parse(html)


def find(html: str | Element, **criteria) -> Element | None:
    return _page(html).find(**criteria)


def find_all(html: str | Element, **criteria) -> list[Element]:
    return _page(html).find_all(**criteria)


def one(html: str | Element, **criteria) -> Element:
    return _page(html).one(**criteria)


# -- internals --------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _same(expected: str | re.Pattern, actual: str) -> bool:
    if isinstance(expected, re.Pattern):
        return expected.search(actual) is not None
    return _collapse(expected) == actual


def _unrendered(element: Element) -> bool:
    return element.tag in UNRENDERED or element.has("hidden")


def _aria_hidden(element: Element) -> bool:
    return _unrendered(element) or element.get("aria-hidden") == "true"


def _visually_hidden(element: Element) -> bool:
    return _unrendered(element) or VISUALLY_HIDDEN in element.classes


class _Builder(HTMLParser):
    """Builds the tree; forgiving like a browser about end tags that close nothing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = Element("#document", {}, None)
        self.open = [self.document]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: "" if v is None else v for k, v in attrs}, self.open[-1])
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        self.open[-1].children.append(data)
