"""Properties of the text normalisation every vendor, type and category string goes through."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from budget_matcher.text import normalise, tokens

ANY_TEXT = st.text(max_size=60)
FEED_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " #*.-/'&", max_size=40)


@given(ANY_TEXT)
def test_normalise_gives_lowercase_ascii_words_or_none(text: str) -> None:
    result = normalise(text)
    if result is not None:
        assert result and result == result.strip()
        assert set(result) <= set(string.ascii_lowercase + " ")
        assert "  " not in result


@given(ANY_TEXT)
def test_tokens_are_distinct_alphabetic_words(text: str) -> None:
    words = tokens(text)
    assert len(words) == len(set(words))
    assert all(len(word) >= 1 and word.isalpha() for word in words)


@given(FEED_TEXT, st.integers(min_value=0, max_value=10**12))
def test_normalise_ignores_card_feed_digits_and_punctuation(text: str, number: int) -> None:
    assert normalise(f"{text} {number}#*.") == normalise(text)


@given(FEED_TEXT)
def test_normalise_ignores_case(text: str) -> None:
    assert normalise(text.upper()) == normalise(text.lower())


@given(ANY_TEXT)
def test_normalise_never_raises_and_keeps_none_for_none(text: str) -> None:
    assert normalise(None) is None
    normalise(text)


def test_normalise_known_card_feed_spellings() -> None:
    assert normalise("SOUTHWEST AIR 5262134519") == "southwest air"
    assert normalise("Southwest Airlines") == "southwest airlin"
    assert normalise("Łódź Hotel") == "lodz hotel"
    assert normalise("the of and") is None
