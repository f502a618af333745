"""A write is one transaction, savepoints included, on both backends (db/engine.py).

pysqlite's own transaction handling let a savepoint taken before the first write begin the
transaction, so releasing it committed: a rollback afterwards kept the savepoint's rows.
"""

from __future__ import annotations

import pytest

from ironworks.db.engine import Database


def test_a_released_savepoint_rolls_back_with_its_transaction(db: Database) -> None:
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE tx_probe (x INTEGER)")
    with pytest.raises(RuntimeError), db.write() as conn:
        with conn.begin_nested():
            conn.exec_driver_sql("INSERT INTO tx_probe VALUES (1)")
        conn.exec_driver_sql("INSERT INTO tx_probe VALUES (2)")
        raise RuntimeError("the request failed after its savepoint")
    with db.write() as conn:
        with conn.begin_nested() as inner:
            conn.exec_driver_sql("INSERT INTO tx_probe VALUES (3)")
            inner.rollback()
        conn.exec_driver_sql("INSERT INTO tx_probe VALUES (4)")
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT x FROM tx_probe ORDER BY x").scalars().all()
    assert rows == [4]
