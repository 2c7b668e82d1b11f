"""Reconciliation runs: stored, asked for by staff, run by the reconcile worker.

Runs are stored (ReconciliationRun). Staff ask for one from the sales page; the page
stores it as requested and the reconcile worker (`reconcile_stripe --queue`, a service
in docker-compose.yml) runs it: a page request never waits on Stripe, and a run
survives the web process that asked for it. The matching itself is
checkout.services.reconciliation.
"""

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from checkout import gateway
from checkout.models import ReconciliationRun
from checkout.services.reconciliation import DEFAULT_PERIOD, stripe_reconcile
from checkout.services.reconciliation_results import Discrepancy, Reconciliation

logger = logging.getLogger(__name__)

Run = ReconciliationRun

# A run left "running" this long was abandoned (its worker died): it is marked failed.
STALE_AFTER = timedelta(minutes=30)
# How often the worker's --daily starts a run of its own.
DAILY = timedelta(hours=24)


def _store(run: Run, result: Reconciliation) -> None:
    run.status = Run.Status.DONE
    run.finished_at = timezone.now()
    run.ok = result.ok
    run.summary = result.summary()
    run.counts = dict(result.counts)
    run.discrepancies = [asdict(d) for d in result.discrepancies]
    run.save()


def reconciliation_execute(*, run: Run, now: datetime | None = None) -> Reconciliation | None:
    """Run a claimed (running) reconciliation and store its result; on a Stripe failure
    the run is stored as failed and None returned."""
    now = now or timezone.now()
    if run.until is None:
        run.until = now
        run.save(update_fields=["until"])
    try:
        result = stripe_reconcile(since=run.since, until=run.until, now=now)
    except gateway.GatewayError as exc:
        logger.warning("reconciliation %s failed: %s", run.pk, exc)
        run.status = Run.Status.FAILED
        run.finished_at = timezone.now()
        run.error = str(exc)[:2000]
        run.summary = f"reconcile_stripe: FAILED: Stripe could not be listed: {exc}"
        run.save()
        return None
    _store(run, result)
    return result


def reconciliation_run(
    *,
    since: datetime,
    until: datetime,
    trigger: str = Run.Trigger.COMMAND,
    now: datetime | None = None,
) -> tuple[Run, Reconciliation | None]:
    """Reconcile now (the command line), storing the run."""
    now = now or timezone.now()
    run = Run.objects.create(
        status=Run.Status.RUNNING,
        trigger=trigger,
        requested_at=now,
        started_at=now,
        since=since,
        until=until,
    )
    return run, reconciliation_execute(run=run, now=now)


def reconciliation_request(*, staff: User | None, now: datetime | None = None) -> tuple[Run, bool]:
    """Ask for a run of the last DEFAULT_PERIOD (the sales page). Returns the run and
    whether it is new: one already waiting or running is returned instead."""
    now = now or timezone.now()
    waiting = Run.objects.filter(status__in=[Run.Status.REQUESTED, Run.Status.RUNNING]).first()
    if waiting is not None and not _stale(waiting, now):
        return waiting, False
    run = Run.objects.create(
        status=Run.Status.REQUESTED,
        trigger=Run.Trigger.STAFF,
        requested_by=staff,
        requested_at=now,
        since=now - DEFAULT_PERIOD,
    )
    return run, True


def _stale(run: Run, now: datetime) -> bool:
    return run.status == Run.Status.RUNNING and (run.started_at or run.requested_at) < (
        now - STALE_AFTER
    )


def _claim(run_id: int, now: datetime) -> bool:
    """Take a requested run with a conditional update: of several workers, one wins."""
    return bool(
        Run.objects.filter(pk=run_id, status=Run.Status.REQUESTED).update(
            status=Run.Status.RUNNING, started_at=now
        )
    )


def reconciliation_queue_work(*, daily: bool = False, now: datetime | None = None) -> list[Run]:
    """The worker's round (`reconcile_stripe --queue`): mark abandoned runs failed, run
    every requested run, oldest first, and with `daily` also a run of the last
    DEFAULT_PERIOD when none was scheduled in the last DAILY. Returns the runs made."""
    now = now or timezone.now()
    Run.objects.filter(status=Run.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=Run.Status.FAILED,
        finished_at=now,
        error="Abandoned: its worker stopped before finishing.",
        summary="reconcile_stripe: FAILED: abandoned",
    )
    if (
        daily
        and not Run.objects.filter(
            trigger=Run.Trigger.SCHEDULE, requested_at__gt=now - DAILY
        ).exists()
    ):
        Run.objects.create(
            status=Run.Status.REQUESTED,
            trigger=Run.Trigger.SCHEDULE,
            requested_at=now,
            since=now - DEFAULT_PERIOD,
        )
    done = []
    waiting = Run.objects.filter(status=Run.Status.REQUESTED).order_by("requested_at", "id")
    for run_id in list(waiting.values_list("pk", flat=True)):
        started = timezone.now()
        if not _claim(run_id, started):
            continue
        run = Run.objects.get(pk=run_id)
        reconciliation_execute(run=run, now=started)
        done.append(run)
    return done


def reconciliation_latest() -> Run | None:
    return Run.objects.select_related("requested_by").order_by("-requested_at", "-id").first()


def discrepancies_of(run: Run) -> list[Discrepancy]:
    """A stored run's discrepancies, as objects again."""
    fields = Discrepancy.__dataclass_fields__
    return [
        Discrepancy(**{k: v for k, v in item.items() if k in fields})
        for item in run.discrepancies or []
        if isinstance(item, dict)
    ]
