"""Reading the dashboard's HTML in tests."""

from html.parser import HTMLParser


class _BadgeParser(HTMLParser):
    """Collects (badge colour class, visible text) for every element with class "badge"."""

    VOID = {"path", "circle", "br", "img", "input", "meta", "link"}

    def __init__(self):
        super().__init__()
        self.badges: list[tuple[str, str]] = []
        self._stack: list[int | None] = []  # index into badges for open badge elements

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        if "badge" in classes:
            colour = next((c for c in classes if c.startswith("badge-")), "")
            self.badges.append((colour, ""))
            self._stack.append(len(self.badges) - 1)
        else:
            self._stack.append(None)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for index in self._stack:
            if index is not None:
                colour, text = self.badges[index]
                self.badges[index] = (colour, " ".join(f"{text} {data}".split()))


def badges(html: str) -> list[tuple[str, str]]:
    parser = _BadgeParser()
    parser.feed(html)
    return parser.badges
