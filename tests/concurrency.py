"""Run jobs truly at the same moment: one thread each, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

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
