"""Where `bem train` and `bem evaluate` get labelled pairs: a history or a feature table
(--data), or freshly generated synthetic users — one `DataSource`, built from the data options.

Reading a history reports on stderr and fails with one line, which is the command line's
business: `load` is given that reader (`bem.data.cli.load_labelled`), so this module stays
free of click.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bem.data.options import HistoryArgs
from bem.data.shapes import table_paths
from bem.model.dataset import Dataset, UserRecords, load_feature_table
from bem.model.evaluate import synthetic_dataset

# (data, unlisted, reading options) -> the dataset, its users and what the card records of it
LabelledReader = Callable[
    [Path, str, HistoryArgs], tuple[Dataset, list[UserRecords], dict[str, Any]]
]


@dataclass(frozen=True)
class Loaded:
    """A data source read: the dataset, the history's users (None unless a history was read)
    and the model card's `source` entry."""

    dataset: Dataset
    users: list[UserRecords] | None
    card: dict[str, Any]


@dataclass(frozen=True)
class DataSource:
    """--data with its history options, --unlisted, and the synthetic users used without it.

    A directory of budgets/items/links tables is a history; another directory or a Parquet
    file is a feature table."""

    data: Path | None
    reading: HistoryArgs
    unlisted: str
    synth_users: int
    seed: int
    noise: float
    overrides: tuple[str, ...]

    @property
    def is_feature_table(self) -> bool:
        """--data names a feature table from `bem batch features` (Parquet file or directory)."""
        if self.data is None or table_paths(self.data) is not None:
            return False
        return self.data.is_dir() or self.data.suffix == ".parquet"

    def load(self, read_labelled: LabelledReader, feature_tables: bool = True) -> Loaded:
        """Read --data (a feature table only where `feature_tables`), else generate the users."""
        if self.data is not None and feature_tables and self.is_feature_table:
            card = {"source": self.data.name, "format": "feature table (bem batch features)"}
            return Loaded(load_feature_table(self.data), None, card)
        if self.data is not None:
            dataset, users, read = read_labelled(self.data, self.unlisted, self.reading)
            card = {"source": self.data.name, "unlisted": self.unlisted, **read}
            return Loaded(dataset, users, card)
        dataset, synth = synthetic_dataset(self.synth_users, self.seed, self.noise, self.overrides)
        generated: dict[str, Any] = {"source": "synthetic", "generator": synth.card()}
        if dataset.prior is not None:  # clean-feed users train only (see synthetic_dataset)
            generated["clean_feed_users"] = len(set(dataset.users[dataset.prior].tolist()))
        return Loaded(dataset, None, generated)

    def describe(self) -> str:
        """One line for a report's header: the file, or how the users were generated."""
        if self.data is not None:
            return str(self.data)
        return (
            f"synthetic users={self.synth_users} seed={self.seed} noise={self.noise} "
            f"{list(self.overrides)}"
        )
