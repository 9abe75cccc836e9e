"""The scaffolding of the evaluation's PNG plots (PR curves, reliability, operating point): one
figure on matplotlib's Agg backend, its axes labelled, limited, gridded, titled, then saved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Frame:
    """What every plot sets around its data: title, axis labels and limits, legend place."""

    title: str
    xlabel: str
    ylabel: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    legend_loc: Literal["upper left", "lower left"]
    legend_fontsize: float | None = None


@contextmanager
def png_axes(path: Path, size: tuple[float, float], frame: Frame) -> Iterator[Any]:
    """Yield the axes of a new `size` (inches, 100 dpi) figure to draw on; on leaving, frame
    them and write the PNG to `path`. The figure is closed either way."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=size, dpi=100)
    try:
        yield axes
        axes.set_xlabel(frame.xlabel)
        axes.set_ylabel(frame.ylabel)
        axes.set_xlim(*frame.xlim)
        axes.set_ylim(*frame.ylim)
        axes.grid(alpha=0.3)
        axes.legend(loc=frame.legend_loc, fontsize=frame.legend_fontsize)
        axes.set_title(frame.title)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
