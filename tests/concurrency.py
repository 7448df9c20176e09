"""Concurrency in tests: jobs released together by a barrier, and one forced interleaving of two workers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session

from eventhub.extensions import db


def run_concurrently(
    app: Flask, jobs: list[Callable[[], Any]], *, expected: tuple[type[BaseException], ...] = (), timeout: float = 180
) -> tuple[list[Any], list[BaseException]]:
    """Start every job in its own thread and app context; collect results and errors.

    An exception of an ``expected`` type (a refusal the test counts, e.g. a full event) is a
    result; any other is an error for the test to report. Each thread's session is removed.
    """
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(job: Callable[[], Any]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcome = job()
            except expected as exc:
                outcome = exc
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                with lock:
                    errors.append(exc)
                return
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a concurrent job hung"
    return results, errors


@contextmanager
def other_commits_before_read(app: Flask, table: str, nth: int, other: Callable[[], Any]) -> Iterator[Callable[[], None]]:
    """Force one interleaving instead of hoping for it: ``other`` runs to its commit in another
    thread (own app context and session) just before this thread's ``nth`` SELECT from
    ``table``. Yields a function that runs ``other`` afterwards if this thread read fewer
    times; the test calls it after its own commit so both sides have always run.
    """
    me = threading.current_thread()
    reads = 0
    done: list[bool] = []

    def run_other() -> None:
        if done:
            return
        done.append(True)
        failures: list[BaseException] = []

        def worker() -> None:
            with app.app_context():
                try:
                    other()
                    db.session.commit()
                except BaseException as exc:  # noqa: BLE001 - re-raised below in the test's thread
                    failures.append(exc)
                finally:
                    db.session.remove()

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the other worker hung"
        if failures:
            raise failures[0]

    def before_execute(state: ORMExecuteState) -> None:
        nonlocal reads
        if threading.current_thread() is not me or not state.is_select or f"FROM {table}" not in str(state.statement):
            return
        reads += 1
        if reads == nth:
            run_other()

    sa_event.listen(Session, "do_orm_execute", before_execute)
    try:
        yield run_other
    finally:
        sa_event.remove(Session, "do_orm_execute", before_execute)
