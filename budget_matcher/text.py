"""Text normalisation for vendor, type and category strings.

normalise("SOUTHWEST AIR 5262134519") == "southwest air"; normalise("Southwest Airlines") ==
"southwest airlin": transliterate (unidecode), lower-case, drop digits and punctuation, drop
English stopwords (NLTK's list, in NLTK's corpus layout under nltk_data/), stem each token with
the English Snowball (Porter2) stemmer. Results are cached: card feeds repeat the same few
hundred vendor strings endlessly (short strings only: see values.short_text_cache).

The runtime reads the stopword file and stems with `snowballstemmer` (the Snowball project's
own Python port) instead of importing NLTK: `import nltk` loads ~560 modules (0.26 s of a
cold start); and of snowballstemmer it imports the English stemmer alone (`english_stemmer`).
The tests check both against NLTK itself (nltk.corpus.stopwords on nltk_data/ and nltk's
SnowballStemmer) so the two never drift.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from unidecode import unidecode

from budget_matcher import config
from budget_matcher.values import cached_map, short_text_cache

if TYPE_CHECKING:
    from collections.abc import Callable

_NON_LETTERS = re.compile(r"[^a-z]+")
# Noise tokens of card feeds that say nothing about the vendor.
_FEED_NOISE = frozenset({"inc", "llc", "ltd", "co", "corp", "com", "www", "pos", "purchase", "sq"})


STOPWORDS_FILE = Path("corpora") / "stopwords" / "english"


def read_stopwords(data_dir: Path | None = None) -> frozenset[str]:
    """NLTK's English stopword list from an nltk_data directory (one word per line)."""
    directory = data_dir or config.env_path(config.ENV_NLTK_DATA, config.DEFAULT_NLTK_DATA)
    lines = (directory / STOPWORDS_FILE).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip())


@lru_cache(maxsize=1)
def _language_tools() -> tuple[frozenset[str], Callable[[str], str]]:
    """The stopword set and the English Snowball stemmer, loaded once per process."""
    return read_stopwords() | _FEED_NOISE, english_stemmer().stemWord


def english_stemmer() -> Any:
    """snowballstemmer's `EnglishStemmer` (what `snowballstemmer.stemmer("english")` returns
    without PyStemmer), imported without the package's `__init__`, which imports the stemmers
    of all ~30 languages (~25 ms of a cold start, against ~1 ms for English alone): the
    package's module object is created from its spec but not run while its English module
    (and that module's `basestemmer` and `among`) load, then taken out of sys.modules again,
    so that a later `import snowballstemmer` anywhere runs the real `__init__`."""
    name = "snowballstemmer.english_stemmer"
    module = sys.modules.get(name)
    if module is None and "snowballstemmer" in sys.modules:
        module = importlib.import_module(name)
    if module is None:
        spec = importlib.util.find_spec("snowballstemmer")
        if spec is None:
            raise ModuleNotFoundError("No module named 'snowballstemmer'", name="snowballstemmer")
        sys.modules["snowballstemmer"] = importlib.util.module_from_spec(spec)
        try:
            module = importlib.import_module(name)
        finally:
            del sys.modules["snowballstemmer"]
    return module.EnglishStemmer()


@short_text_cache
def tokens(text: str) -> tuple[str, ...]:
    """Distinct normalised tokens of `text`, in first-seen order."""
    stopwords, stem = _language_tools()
    flat = _NON_LETTERS.sub(" ", unidecode(text).lower())
    seen: dict[str, None] = {}
    for word in flat.split():
        if len(word) < 2 or word in stopwords:
            continue
        seen.setdefault(stem(word), None)
    return tuple(seen)


def normalise(text: str | None) -> str | None:
    """The normalised form of `text`; None when nothing meaningful is left."""
    if text is None:
        return None
    words = tokens(text)
    return " ".join(words) if words else None


@short_text_cache
def _normalise_cached(text: str | None) -> str | None:
    return normalise(text)


def normalised_codes(
    coded: tuple[np.ndarray, list[str | None]], vocabulary: dict[str, int] | None = None
) -> np.ndarray:
    """Per text (`coded` as budget_matcher.columns.distinct returns texts), the code of its
    normalised form in `vocabulary` (normalised string → code; new forms are added in
    first-seen order), −1 for none."""
    index: dict[str, int] = {} if vocabulary is None else vocabulary
    raw_codes, raw = coded
    normalised = cached_map(_normalise_cached, raw)
    codes = [-1 if text is None else index.setdefault(text, len(index)) for text in normalised]
    return np.asarray(codes, dtype=np.int64)[raw_codes]
