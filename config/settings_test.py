"""Settings for the test suite: the shop's settings with test conveniences on."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from config.settings import *  # noqa: F403

# Tests see the database as it is; the catalog's page cache has tests of its own.
CATALOG_PAGE_CACHE_SECONDS = 0

# The test client and the live server speak plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

if not IS_POSTGRES:  # noqa: F405
    # A file, not shared-cache memory: the live server's threads and the test then
    # meet SQLite's real locking (WAL, busy timeout, IMMEDIATE transactions), as in
    # production, instead of "table is locked" errors peculiar to shared memory.
    # One file per test process, so that two runs at once never share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")  # noqa: F405
    }
