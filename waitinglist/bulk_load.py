"""Filling an empty table in bulk: its indexes built once after the rows, not row by row.

PostgreSQL keeps every index of a table up to date as each row goes in, writing each entry to
the write-ahead log one by one. For a million rows that costs several times what building the
same index afterwards from the sorted rows does. When a table holds no rows at all (the first
trust's first import into a new portal), the import drops its indexes, constraints and the
foreign keys that point at it, inserts, and creates them all again from their own definitions,
read from the catalogue first. Everything happens in the import's transaction: a failure puts
every index back as it was. Any other time the table is filled as usual (decision 0012).
"""

from collections.abc import Iterator
from contextlib import contextmanager

# Sorting a million rows per index in memory; two parallel workers share it.
BUILD_MEMORY = "256MB"

# The table's indexes: those behind a constraint (primary key, unique) as the constraint.
_INDEXES = """
SELECT i.relname, c.conname, pg_get_indexdef(x.indexrelid),
    CASE WHEN c.oid IS NULL THEN NULL ELSE pg_get_constraintdef(c.oid) END
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = CAST(%s AS regclass)
ORDER BY i.relname
"""

# Foreign keys of other tables that point at this one: they depend on its primary key.
_REFERENCES = """
SELECT CAST(conrelid AS regclass), conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE contype = 'f' AND confrelid = CAST(%s AS regclass)
ORDER BY conname
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def indexes_built_after(cursor, table: str, *, empty: bool) -> Iterator[None]:
    """Inside: `table` without indexes if `empty` (it has no rows), else unchanged."""
    if not empty:
        yield
        return
    cursor.execute(_INDEXES, [table])
    indexes = cursor.fetchall()
    cursor.execute(_REFERENCES, [table])
    references = cursor.fetchall()
    for other, name, _ in references:
        cursor.execute(f"ALTER TABLE {other} DROP CONSTRAINT {_quoted(name)}")
    for index, constraint, _, _ in indexes:
        if constraint:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(constraint)}")
        else:
            cursor.execute(f"DROP INDEX {_quoted(index)}")
    yield
    cursor.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    for _, constraint, index_definition, constraint_definition in indexes:
        if constraint:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(constraint)} {constraint_definition}"
            )
        else:
            cursor.execute(index_definition)
    for other, name, definition in references:
        cursor.execute(f"ALTER TABLE {other} ADD CONSTRAINT {_quoted(name)} {definition}")
    cursor.execute("SET LOCAL maintenance_work_mem = DEFAULT")


def has_rows(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    return cursor.fetchone()[0]
