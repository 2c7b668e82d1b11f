"""Pages kept for a few seconds in this process's memory: the anonymous catalog page and
the signed-in shopper's shell (catalog.views, catalog.shell).

A dict of (deadline, text) rather than Django's local-memory cache, which pickles every
value it stores and returns (an 86 KB page each way) and finds its store through
asgiref's per-context locals: on the catalog's busiest path that was a tenth of the
view's time. Bounded (everything goes when it is full: the entries live two seconds);
never shared between processes, so there is nothing to invalidate elsewhere.
"""

import threading
import time
from typing import Any

from django.core.signals import setting_changed

MAX_ENTRIES = 500


class KeptPages:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def set(self, key: str, text: str, seconds: float) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + seconds, text)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


pages = KeptPages()


def _clear_on_setting_change(**kwargs: Any) -> None:
    pages.clear()  # tests change what pages show (and how long they are kept)


setting_changed.connect(_clear_on_setting_change)
