"""Text normalisation for vendor, type and category strings.

normalise("SOUTHWEST AIR 5262134519") == "southwest air"; normalise("Southwest Airlines") ==
"southwest airlin": transliterate (unidecode), lower-case, drop digits and punctuation, drop
English stopwords (NLTK's list, read from nltk_data/ through NLTK), Snowball-stem each token.
Results are cached: card feeds repeat the same few hundred vendor strings endlessly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from unidecode import unidecode

from budget_matcher import config

if TYPE_CHECKING:
    from collections.abc import Callable

_NON_LETTERS = re.compile(r"[^a-z]+")
# Noise tokens of card feeds that say nothing about the vendor.
_FEED_NOISE = frozenset({"inc", "llc", "ltd", "co", "corp", "com", "www", "pos", "purchase", "sq"})
_CACHE_SIZE = 65536


@lru_cache(maxsize=1)
def _language_tools() -> tuple[frozenset[str], Callable[[str], str]]:
    """NLTK's English stopwords and Snowball stemmer, loaded once per process."""
    import nltk

    data_dir = str(config.env_path(config.ENV_NLTK_DATA, config.DEFAULT_NLTK_DATA))
    if data_dir not in nltk.data.path:
        nltk.data.path.insert(0, data_dir)
    from nltk.corpus import stopwords
    from nltk.stem.snowball import SnowballStemmer

    words = frozenset(stopwords.words("english")) | _FEED_NOISE
    return words, SnowballStemmer("english", ignore_stopwords=False).stem


@lru_cache(maxsize=_CACHE_SIZE)
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
