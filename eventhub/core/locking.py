"""Serialising writers that read first: the SQLite write lock and PostgreSQL row locks.

A service that reads a row, decides, and then writes (submit a plan, claim a number) races
with a second request doing the same at the same moment — a double click is enough. These two
helpers make the second wait for the first and then read what the first committed.
"""

from __future__ import annotations

from typing import Any

from eventhub.extensions import db


def begin_write() -> None:
    """Start this session's transaction as a writer.

    On SQLite the pysqlite driver would begin a *deferred* transaction at the first write; a
    transaction that read first and writes later can then fail at once with "database is
    locked" (the busy timeout does not help when the lock cannot be upgraded), and its reads may
    be stale. ``BEGIN IMMEDIATE`` takes the write lock before anything is read, waiting up to the
    busy timeout (``connect_args={"timeout": …}``, see ``config.py``). PostgreSQL needs nothing
    here: row locks (:func:`lock_for_change`) and conditional UPDATEs do the work there.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.driver_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for_change(obj: Any) -> None:
    """Wait for any other transaction changing ``obj`` and reload it as committed.

    SQLite: the database's write lock (:func:`begin_write`); PostgreSQL: ``SELECT … FOR UPDATE``
    of the row. Either way the attributes are refreshed and relationships reload on next access,
    so the caller decides on the state the previous writer left, not on what it read before.
    Changes not yet flushed are flushed first so that the reload does not discard them.
    """
    db.session.flush()
    begin_write()
    db.session.refresh(obj, with_for_update=True)
