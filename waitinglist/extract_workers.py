"""Staging an extract's valid rows in batches; a large file is checked in worker processes.

A file of PARALLEL_MIN_BYTES or more is cut into chunks of a few megabytes, each ending at a
line break outside quoted fields, and each chunk's rows are checked in a worker process by a
copy of the `ExtractReader` (`extract.py`), with exactly the outcome of reading the file whole
in one process: the same rows, rejections and refusals, in file order. Where a chunk's result
cannot be used (its worker stopped, or a stray quote put its end inside a quoted field), that
chunk and the rest of the file are read in this process instead.

The workers are spawned: each imports this module by name, to find `_check_chunk`, and
`extract.py`, to rebuild the reader. `extract.py` imports this module, so this one imports the
reader only for type checking (the two would otherwise import each other) and takes the types
both use from `extract_outcomes.py`.
"""

import csv
import io
import itertools
import logging
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import batched
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from waitinglist.extract_outcomes import ExtractRefused, Rejection, StagedRow

if TYPE_CHECKING:
    from waitinglist.extract import ExtractReader

# Rows are staged BATCH_ROWS at a time. A file of PARALLEL_MIN_BYTES or more is checked in worker
# processes (one per core), CHUNK_BYTES at a time: below that, starting them costs more than
# they save. Each chunk ends at a line break outside quoted fields.
BATCH_ROWS = 10_000
PARALLEL_MIN_BYTES = 8 << 20
CHUNK_BYTES = 4 << 20
_READ_AHEAD = 1 << 16
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")

log = logging.getLogger(__name__)


def rest_in_batches[T](
    reader: "ExtractReader",
    stage: Callable[[Sequence[StagedRow], bool], T],
    split_by_consultant: bool,
) -> Iterator[T]:
    """The reader's valid rows after its first (`ExtractReader.batches`), staged a batch at a
    time: in worker processes when the file is large enough for them to pay."""
    workers = os.cpu_count() or 1
    pool = None
    if workers > 1 and reader.path.stat().st_size >= PARALLEL_MIN_BYTES:
        pool = _start_pool(workers)
    if pool is None:
        yield from _staged(reader._rest, stage, split_by_consultant)
        return
    try:
        yield from _checked_in_workers(reader, pool, 2 * workers, stage, split_by_consultant)
    finally:
        pool.shutdown(cancel_futures=True)


def _checked_in_workers(reader, pool, most_in_hand, stage, split_by_consultant) -> Iterator:
    """The rest of the file, chunk by chunk, in worker processes. Results are taken in file
    order, while a few more chunks are in hand so that every worker stays busy."""
    in_hand: deque = deque()  # (chunk, job)
    planned: deque = deque()  # chunks not yet handed out

    def hand_out(chunk: _Chunk) -> None:
        try:
            job = pool.submit(_check_chunk, reader, chunk, stage, split_by_consultant)
        except BrokenProcessPool:
            job = None
        in_hand.append((chunk, job))

    # Chunks are handed out as soon as they are planned, but no result is used before the
    # whole file is: text that is not UTF-8 must be read from the start, as the refusal
    # names its line as that reading finds it.
    start = _bytes_before(reader.path, reader._first.line)
    try:
        for chunk in _plan_chunks(reader.path, start, reader._first.line):
            if len(in_hand) < most_in_hand:
                hand_out(chunk)
            else:
                planned.append(chunk)
    except _CannotSplit:
        pool.shutdown(wait=False, cancel_futures=True)
        yield from _staged(reader._rest, stage, split_by_consultant)
        return
    reader._rest.close()
    while in_hand:
        chunk, job = in_hand.popleft()
        try:
            result = job and job.result()
        except BrokenProcessPool:
            result = None
        if result is None:
            log.warning("a worker process stopped: reading the rest of the file here")
        if result is None or result.cut_short:
            # This chunk and the rest of the file in this process, exactly as read alone.
            pool.shutdown(wait=False, cancel_futures=True)
            yield from _rest_in_this_process(reader, chunk, stage, split_by_consultant)
            return
        if planned:
            hand_out(planned.popleft())
        before = reader.rows_read
        for staged, rows_read in result.batches:
            reader.rows_read = before + rows_read
            yield staged
        reader.rows_read = before + result.rows_read
        reader.rows_rejected += result.rows_rejected
        reader.rejections.extend(result.rejections)
        if result.refusal:
            raise ExtractRefused(result.refusal)


def _rest_in_this_process(reader, chunk: "_Chunk", stage, split_by_consultant) -> Iterator:
    with reader.path.open("rb") as raw:
        raw.seek(chunk.start)
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
        rows = reader._rows(csv.reader(text), chunk.first_line)
        yield from _staged(rows, stage, split_by_consultant)


def _staged[T](rows: Iterator[StagedRow], stage: Callable[..., T], split: bool) -> Iterator[T]:
    for batch in batched(rows, BATCH_ROWS):
        yield stage(batch, split)


def _bytes_before(path: Path, line: int) -> int:
    """The length in bytes of the file's lines before `line` + 1."""
    with path.open("rb") as raw:
        # Latin-1 reads each byte as one character, and splits lines as UTF-8 text would.
        text = io.TextIOWrapper(raw, encoding="latin-1", newline="")
        return sum(len(text) for text in itertools.islice(text, line))


class _Chunk(NamedTuple):
    start: int  # byte offsets
    end: int
    first_line: int  # lines before it, counted as csv.reader counts them (\r\n, \r or \n)
    last: bool  # it ends the file


class _CannotSplit(Exception):
    pass


def _plan_chunks(path: Path, start: int, first_line: int) -> Iterator[_Chunk]:
    """The file from `start`, the beginning of a record, cut into chunks of about CHUNK_BYTES.

    A line break is outside quoted fields when an even number of quotes come before it. Raises
    _CannotSplit if the text is not all UTF-8, or if no such line break comes for a long way
    (a quote left open, say).
    """
    with path.open("rb") as raw:
        raw.seek(start)
        data = raw.read(CHUNK_BYTES + _READ_AHEAD)
        while data:
            while (cut := _cut(data)) is None and (more := raw.read(CHUNK_BYTES)):
                if len(data) > 4 * CHUNK_BYTES + _READ_AHEAD:
                    raise _CannotSplit
                data += more
            chunk, data = (data, b"") if cut is None else (data[:cut], data[cut:])
            if not chunk.isascii():
                try:
                    chunk.decode()
                except UnicodeDecodeError:
                    raise _CannotSplit from None
            yield _Chunk(start, start + len(chunk), first_line, last=cut is None)
            start += len(chunk)
            first_line += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            data += raw.read(max(0, CHUNK_BYTES + _READ_AHEAD - len(data)))


def _cut(data: bytes) -> int | None:
    """Where to end a chunk of `data`: after the first line break outside quoted fields at
    CHUNK_BYTES or beyond; None if there is none yet."""
    quotes = data.count(b'"', 0, CHUNK_BYTES)
    position = CHUNK_BYTES
    for line_break in _LINE_BREAK.finditer(data, CHUNK_BYTES):
        quotes += data.count(b'"', position, line_break.start())
        position = line_break.start()
        if line_break.end() == len(data) and line_break[0] == b"\r":
            return None  # a \n may follow: never cut a \r\n in two
        if quotes % 2 == 0:
            return line_break.end()
    return None


class ChunkEnd:
    """Follows a chunk's lines, to tell whether the csv reader asked for more before it gave
    its last record: then that record did not end with the chunk, but went on in the file."""

    reached = False
    cut_short = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        self.reached = True
        raise StopIteration


class _ChunkResult(NamedTuple):
    batches: list[tuple[Any, int]]  # each staged batch, with the chunk's rows read so far
    rows_read: int
    rows_rejected: int
    rejections: list[Rejection]
    refusal: str | None
    # Its last record went on past its end, so the chunk did not end outside quoted fields
    # (a stray quote misled the count): its results cannot be used.
    cut_short: bool


def _check_chunk(
    reader: "ExtractReader", chunk: _Chunk, stage, split_by_consultant
) -> _ChunkResult:
    """Runs in a worker process: the chunk's rows checked as `reader` would check them."""
    with reader.path.open("rb") as raw:
        raw.seek(chunk.start)
        lines = io.StringIO(raw.read(chunk.end - chunk.start).decode(), newline="")
    end = ChunkEnd()
    source = lines if chunk.last else itertools.chain(lines, end)
    rows = reader._rows(csv.reader(source), chunk.first_line, end)
    staged, refusal = [], None
    try:
        for batch in batched(rows, BATCH_ROWS):
            staged.append((stage(batch, split_by_consultant), reader.rows_read))
    except ExtractRefused as error:
        refusal = str(error)
    return _ChunkResult(
        staged, reader.rows_read, reader.rows_rejected, reader.rejections, refusal, end.cut_short
    )


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """Worker processes, started now, so that they start up while the chunks are planned; None
    where they cannot be (in a daemonic process, say)."""
    # Spawned, not forked: this process holds a database connection and may run threads.
    pool = None
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(workers):
            pool.submit(int)  # each submission starts one more worker
    except (OSError, RuntimeError, AssertionError):
        if pool:
            pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool
