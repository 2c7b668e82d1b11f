"""Settings for the test suite: the shop's settings with test conveniences on."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from config.settings import *  # noqa: F403

# The test client and the live server speak plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
