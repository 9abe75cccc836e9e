"""Request lines: each JSON line is one request, read and checked by the handler's own code
and scored where it is read (`mapInArrow`, no shuffle).

A line is read as the handler reads the body of a POST (`events.parse_event`: not JSON, or
nested past Python's recursion limit, is `invalid_json`) and flattened on its own by
`FlattenedDataPoints`, so every error item the handler gives for that line becomes a row with
the same code and field, and users of different lines never meet (the same id on two lines,
`17` on one and `"17"` on another). The flattened lines of a chunk are then scored in one call
(`score_flattened`): their tables are joined with each (line, user) as a user of its own, so
whatever is computed over a user's records sees that line's records only, as the handler does.
`pair_index` is the row's position in its line's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from bem.batch.worker import CHUNK_PAIRS, NO_ANSWER_BOUND, ScoreRun, result_table, run_model
from budget_matcher import contract as c
from budget_matcher import events
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.scoring import score_flattened
from flattened_data_points import FlattenedBatch, FlattenedDataPoints

# Lines per Arrow batch handed to a worker (Spark's default, 10,000, can be gigabytes of text).
LINES_PER_BATCH = 512


def line_event(text: str) -> dict[str, Any]:
    """The request line as the body of a POST (an HTTP API event): what the handler reads."""
    return {"requestContext": {"http": {"method": "POST"}}, "body": text}


def flatten_line(text: str, max_pairs_per_user: int) -> FlattenedBatch:
    """One request line → its candidate pairs and error items, as the handler flattens the
    same body (a batch's bounds: no answer size, `max_pairs_per_user` pairs per user)."""
    request = events.parse_event(line_event(text))
    if request.problem is not None:
        return FlattenedBatch(CandidatePairs.empty(), [c.error_item(**request.problem)])
    try:
        return FlattenedDataPoints(request.payload, max_pairs_per_user, NO_ANSWER_BOUND).all()
    except RecursionError:  # a payload nested just below the parser's limit
        message = "the request nests too deeply to be read"
        return FlattenedBatch(CandidatePairs.empty(), [c.error_item("invalid_payload", message)])


def merged(lines: list[FlattenedBatch]) -> tuple[FlattenedBatch, list[Any], list[Any]]:
    """The lines' pairs in one batch, each (line, user) a user of its own, and the budgets'
    and items' original user ids (to put back once scored)."""
    budgets, items = RecordTable(), RecordTable()
    budget_index, item_index, errors, answered = [], [], [], []
    users: tuple[list[Any], list[Any]] = ([], [])
    first_group = 0  # each line's user places follow the previous line's
    for line, batch in enumerate(lines):
        offsets = []
        places = [*batch.pairs.budgets.groups, *batch.pairs.items.groups]
        for table, part, original in (
            (budgets, batch.pairs.budgets, users[0]),
            (items, batch.pairs.items, users[1]),
        ):
            rows = table.extend(part.ids, None, part.numbers, part.texts)
            table.users[rows.start :] = [f"{line}\x1f{user!r}" for user in part.users]
            table.groups[rows.start :] = [first_group + place for place in part.groups]
            original.extend(part.users)
            offsets.append(rows.start)
        first_group += max(batch.n_users, max(places, default=-1) + 1)
        budget_index.append(batch.pairs.budget_index + offsets[0])
        item_index.append(batch.pairs.item_index + offsets[1])
        errors.extend(batch.error_items)
        answered.append(_answered(batch))
    pairs = CandidatePairs.empty()
    if budget_index:
        pairs = CandidatePairs(
            budgets, items, np.concatenate(budget_index), np.concatenate(item_index)
        )
    mask = None  # `answer_budgets` in some line: the pairs it leaves out are dropped once scored
    if any(b.answered is not None for b in lines):
        mask = np.concatenate(answered)
    return FlattenedBatch(pairs, errors, sum(b.n_users for b in lines), mask), *users


def _answered(batch: FlattenedBatch) -> np.ndarray:
    """The line's mask of answered pairs (all of them unless `answer_budgets` names some)."""
    if batch.answered is not None:
        return np.asarray(batch.answered, dtype=bool)
    return np.ones(len(batch.pairs), dtype=bool)


def score_lines(lines: list[FlattenedBatch], run: ScoreRun) -> pa.Table:
    """Result rows (`worker.result_table`) of some flattened lines, scored in one call."""
    model, unavailable, stamp = run_model(run)
    batch, budget_users, item_users = merged(lines)
    scored = score_flattened(batch, model, unavailable)
    batch.pairs.budgets.users, batch.pairs.items.users = budget_users, item_users
    table = result_table(scored, stamp, run.with_inputs)
    if scored.scores is None:  # unscored: one line per call, its rows already in its order
        return table
    positions = _line_positions(lines)
    return table.set_column(table.schema.get_field_index("pair_index"), "pair_index", positions)


def _line_positions(lines: list[FlattenedBatch]) -> pa.Array:
    """Each row's position in its line's answer: rows come as every line's pairs, then every
    line's error items."""
    n_pairs = np.array([int(_answered(b).sum()) for b in lines], dtype=np.int64)
    n_errors = np.array([len(b.error_items) for b in lines], dtype=np.int64)
    positions = []
    for counts, start in ((n_pairs, np.zeros_like(n_pairs)), (n_errors, n_pairs)):
        first = np.repeat(np.cumsum(counts) - counts, counts)
        positions.append(np.arange(int(counts.sum())) - first + np.repeat(start, counts))
    return pa.array(np.concatenate(positions), pa.int64())


def score_line_batches(
    batches: Iterator[pa.RecordBatch], run: ScoreRun
) -> Iterator[pa.RecordBatch]:
    """`mapInArrow`'s function: batches of lines (`value`) → batches of result rows.

    Lines are flattened one by one and scored a chunk at a time (about CHUNK_PAIRS pairs;
    one line at a time when no model can be loaded, as each line then answers for itself).
    Blank lines are no requests and give no row.
    """
    model_loads = _model_loads(run)
    chunk: list[FlattenedBatch] = []
    pairs = 0
    for batch in batches:
        for text in batch.column(0).to_pylist():
            if text is None or not text.strip():
                continue
            line = flatten_line(text, run.max_pairs_per_user)
            chunk.append(line)
            pairs += len(line.pairs)
            if pairs >= CHUNK_PAIRS or not model_loads:
                yield from score_lines(chunk, run).to_batches()
                chunk, pairs = [], 0
    if chunk:
        yield from score_lines(chunk, run).to_batches()


def _model_loads(run: ScoreRun) -> bool:
    return run_model(run)[0] is not None
