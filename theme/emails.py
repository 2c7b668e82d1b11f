"""The shop's emails: one branded layout, in HTML and plain text, and the policy by which
they are retried. Every app may use it (theme imports no other app of the shop).

An email named `checkout/email/confirmed` is three templates: `..._subject.txt`,
`....txt` and `....html`; the bodies extend `theme/email/base.txt` and
`theme/email/base.html`, which carry the shop's name, its contact address, its postal
address and a link back to the shop.

Emails leave through a background worker, never from the request or webhook that caused
them, so a slow mail server never slows a page or a webhook. The queue is django-tasks
(the backport of Django 6's `django.tasks`) with django-tasks-db's database backend,
worked by `manage.py db_worker`. Chosen over Celery because:

- the queue is a table of the shop's own database, so a send is queued in the same
  transaction as the change it reports: it commits with it or rolls back with it, and a
  crash between the two loses nothing. With Celery on a broker, queueing inside the
  transaction can send about a change that rolled back, and queueing on commit can lose
  the send in a crash; the outbox table that closes that gap is what this already is;
- there is no broker to run, secure and watch: `migrate` and `db_worker`;
- it still runs on several hosts: on PostgreSQL a worker claims a task with SELECT ...
  FOR UPDATE SKIP LOCKED, so two workers never take the same one;
- it is Django 6's API: moving to Django 6 changes an import, not the code.

What it lacks, the shop does itself: retries (a failed send queues itself again after
`retry_delay`, a bounded number of times) and once-only delivery (a row per email sent,
see checkout.models.OrderNotification).
"""

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task, TaskResult

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd, ... attempt: about five hours of mail server trouble are
# ridden out; after the last attempt the send is given up and logged as an error.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def shop_url(path: str = "/") -> str:
    """An absolute link into the shop, on SHOP_BASE_URL (no request needed)."""
    return settings.SHOP_BASE_URL + ("" if path.startswith("/") else "/") + path


def shop_address_lines() -> list[str]:
    """SHOP_ADDRESS as the lines of an address block (commas separate them)."""
    return [part.strip() for part in settings.SHOP_ADDRESS.split(",") if part.strip()]


def email_context() -> dict[str, Any]:
    """What the layout shows in every email."""
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_url": shop_url("/"),
        "contact_email": settings.SHOP_CONTACT_EMAIL,
        "contact_url": shop_url(reverse("contact")),
        "address_lines": shop_address_lines(),
    }


def email_build(
    *, template: str, context: Mapping[str, Any], to: Sequence[str]
) -> EmailMultiAlternatives:
    """Render the email `template` (subject, text and HTML) for `to`, from
    DEFAULT_FROM_EMAIL, replies going to SHOP_CONTACT_EMAIL. Sends nothing."""
    full = {**email_context(), **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", full).split())
    full["subject"] = subject
    message = EmailMultiAlternatives(
        subject=f"[{settings.SHOP_NAME}] {subject}",
        body=render_to_string(f"{template}.txt", full).strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=[settings.SHOP_CONTACT_EMAIL] if settings.SHOP_CONTACT_EMAIL else None,
    )
    message.attach_alternative(render_to_string(f"{template}.html", full), "text/html")
    return message


def retry_delay(*, attempts: int) -> timedelta | None:
    """How long to wait after `attempts` failed attempts, or None to give up."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1]


def task_enqueue_later(task: Task[..., Any], *, delay: timedelta, **kwargs: Any) -> TaskResult:
    """Queue `task` to run no sooner than `delay` from now, in the caller's transaction.
    A backend that cannot defer (the immediate one) runs it at once."""
    if task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    return task.enqueue(**kwargs)


def task_retry_later(
    task: Task[..., Any], *, attempt: int, error: Exception, what: str, **kwargs: Any
) -> str:
    """After failed attempt number `attempt` of `task`, queue the next one after
    `retry_delay` (with `attempt` + 1), or give up after the last, logging an error.
    Returns what happened, for the task's result."""
    delay = retry_delay(attempts=attempt)
    if delay is None:
        logger.error("%s: given up after %s attempts: %s", what, attempt, error)
        return f"given up after {attempt} attempts"
    task_enqueue_later(task, delay=delay, attempt=attempt + 1, **kwargs)
    logger.warning("%s: attempt %s failed, next in %s: %s", what, attempt, delay, error)
    return f"attempt {attempt} failed; next in {delay}"


def email_queue(message: EmailMessage) -> TaskResult:
    """Queue a rendered message for the worker, in the caller's transaction, instead of
    sending it now (allauth's account emails: the page never waits on a mail server)."""
    alternatives = getattr(message, "alternatives", [])
    return email_send.enqueue(
        message={
            "subject": message.subject,
            "body": message.body,
            "from_email": message.from_email,
            "to": list(message.to),
            "reply_to": list(message.reply_to),
            "headers": dict(message.extra_headers),
            "content_subtype": message.content_subtype,
            "alternatives": [[content, mimetype] for content, mimetype in alternatives],
        }
    )


@task()
def email_send(*, message: dict[str, Any], attempt: int = 1) -> str:
    """The worker's task for `email_queue`: send, or retry later (`task_retry_later`)."""
    email = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=message["from_email"],
        to=message["to"],
        reply_to=message["reply_to"],
        headers=message["headers"],
    )
    email.content_subtype = message["content_subtype"]
    for content, mimetype in message["alternatives"]:
        email.attach_alternative(content, mimetype)
    try:
        email.send()
    except Exception as exc:
        return task_retry_later(
            email_send, attempt=attempt, error=exc, what=f"email {email.subject!r}", message=message
        )
    return "sent"
