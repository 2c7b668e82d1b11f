"""The links of a paginated list, for the one pagination component
(theme/templates/theme/_pagination.html)."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.paginator import Page
from django.utils.http import urlencode


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None stands for the gap ("…") between distant page numbers
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class PageLinks:
    previous: str | None
    next: str | None
    pages: tuple[PageLink, ...]  # elided: the ends and the neighbours of the current page
    number: int
    num_pages: int

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1


def page_links(page: Page, *, url: str, params: Mapping[str, str] | None = None) -> PageLinks:
    """Links to the pages around `page`: `url` with the non-empty `params` (the search,
    say) and the page number. The first page has no number, so it keeps one address."""
    kept = {name: value for name, value in (params or {}).items() if value}

    def link(number: int) -> str:
        query = urlencode({**kept, "page": str(number)} if number > 1 else kept)
        return f"{url}?{query}" if query else url

    paginator = page.paginator
    return PageLinks(
        previous=link(page.previous_page_number()) if page.has_previous() else None,
        next=link(page.next_page_number()) if page.has_next() else None,
        pages=tuple(
            PageLink(number=n, url=link(n), current=n == page.number)
            if isinstance(n, int)  # else paginator.ELLIPSIS, a string
            else PageLink(number=None)
            for n in paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)
        ),
        number=page.number,
        num_pages=paginator.num_pages,
    )
