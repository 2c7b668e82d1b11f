"""Running the background tasks the shop queued, when a test says so, the way the worker
(`manage.py db_worker`) runs them: django-tasks-db's own worker loop, in batch mode.

The suite uses the database backend, as the shop does: a change queues its emails as
rows in its own transaction, and nothing is sent until a test runs the queue. So a test
decides when the worker runs, how often, and how much time has passed in between.
"""

from datetime import timedelta
from unittest import mock

from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max


def tasks_queued() -> list[DBTaskResult]:
    """Tasks waiting to run, due or deferred, oldest first."""
    return list(DBTaskResult.objects.filter(status=TaskResultStatus.READY).order_by("enqueued_at"))


def tasks_run(*, later: timedelta = timedelta(0)) -> int:
    """Run every queued task that is due, as if `later` had passed since they were
    queued (a retry waits for its backoff), until none is left; return how many ran."""
    if later:
        DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, run_after__lte=timezone.now() + later
        ).exclude(run_after=get_date_max()).update(run_after=timezone.now())
    finished_before = DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count()
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=100,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    # The worker checks its connection between tasks, as Django does between requests;
    # inside a test's transaction that would discard the test's data.
    with mock.patch(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    ):
        worker.run()
    return DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count() - finished_before
