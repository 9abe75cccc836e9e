"""Inputs for tests and benchmarks: generated users as budgets/items tables and payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bem.synth.users import SynthUser
from budget_matcher import contract as c


def user_tables(users: list[SynthUser]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(budgets, items) with `user_id` and the seed's field names, every value a string."""
    budgets = [{c.USER_ID_KEY: u.user_id, **b} for u in users for b in u.budgets]
    items = [{c.USER_ID_KEY: u.user_id, **i} for u in users for i in u.items]
    return frame_of(budgets, c.BUDGET_FIELDS), frame_of(items, c.ITEM_FIELDS)


def frame_of(records: list[dict[str, Any]], fields: tuple[str, ...]) -> pd.DataFrame:
    """Records as a table: `seq` (their order), user_id, then the contract's fields."""
    frame = pd.DataFrame(records, columns=[c.USER_ID_KEY, *fields]).astype(object)
    frame.insert(0, "seq", range(len(frame)))
    return frame


def write_tables(
    budgets: pd.DataFrame, items: pd.DataFrame, directory: Path, files: int = 3
) -> tuple[Path, Path]:
    """Write both tables as Parquet directories of `files` files each, rows dealt round-robin
    so that every user's records are spread over several files (several input partitions)."""
    paths = []
    for name, table in (("budgets", budgets), ("items", items)):
        target = directory / name
        target.mkdir(parents=True, exist_ok=True)
        for part in range(files):
            chunk = table.iloc[part::files].astype("string").astype({"seq": "int64"})
            chunk.to_parquet(target / f"part-{part:03d}.parquet", index=False)
        paths.append(target)
    return paths[0], paths[1]


def user_payloads(budgets: pd.DataFrame, items: pd.DataFrame) -> dict[str, Any]:
    """The batch payload ({"users": [...]}) of the tables, users in user_id order."""
    users: dict[str, dict[str, Any]] = {}
    for key, table in ((c.BUDGETS_KEY, budgets), (c.LINE_ITEMS_KEY, items)):
        for record in table.sort_values("seq").drop(columns="seq").to_dict("records"):
            user_id = record.pop(c.USER_ID_KEY)
            user = users.setdefault(
                user_id, {c.USER_ID_KEY: user_id, c.BUDGETS_KEY: [], c.LINE_ITEMS_KEY: []}
            )
            user[key].append({k: v for k, v in record.items() if not _missing(v)})
    return {c.USERS_KEY: [users[u] for u in sorted(users)]}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
