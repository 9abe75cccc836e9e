"""The English stemmer is snowballstemmer's, imported without the package's other languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import snowballstemmer

from budget_matcher.text import english_stemmer

REPO_ROOT = Path(__file__).resolve().parents[2]
WORDS = (
    "airlines",
    "southwest",
    "hotels",
    "lodging",
    "accommodation",
    "rental",
    "vehicles",
    "generously",
    "cancellation",
    "occupancy",
    "surcharges",
    "baggage",
    "penalties",
    "tourism",
    "reissued",
    "rebooking",
)


def test_english_stemmer_stems_as_the_package_english_stemmer() -> None:
    package = snowballstemmer.stemmer("english")
    alone = english_stemmer()
    assert [alone.stemWord(word) for word in WORDS] == [package.stemWord(w) for w in WORDS]


def test_normalising_text_imports_no_other_language() -> None:
    code = (
        "import sys; from budget_matcher.text import normalise; "
        "assert normalise('Southwest Airlines') == 'southwest airlin'; "
        "print(sorted(m for m in sys.modules if m.startswith('snowballstemmer')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [
        "['snowballstemmer.among',",
        "'snowballstemmer.basestemmer',",
        "'snowballstemmer.english_stemmer']",
    ]


def test_the_package_still_imports_whole_after_the_english_stemmer() -> None:
    code = (
        "from budget_matcher.text import english_stemmer; english_stemmer(); "
        "import snowballstemmer; print(len(snowballstemmer.algorithms()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) > 20
