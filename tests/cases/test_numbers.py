"""Caller numbers: one canonical form however the network wrote them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.numbers import is_surveyable, normalise

CANONICAL = re.compile(r"\+?[0-9]{3,15}")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+66812345678", "0812345678"),
        ("66812345678", "0812345678"),
        ("0066812345678", "0812345678"),
        ("+66 81-234-5678", "0812345678"),
        ("+66 (0)2 123 4567", "021234567"),
        ("081.234.5678", "0812345678"),
        ("(02) 123-4567", "021234567"),
        ("1169", "1169"),
        ("1662", "1662"),
        ("15550101", "15550101"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("anonymous", None),
        ("Anonymous", None),
        ("<unknown>", None),
        ("unknown", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("<script>alert(1)</script>", None),
        ("12", None),
        ("08123abc", None),
        ("+", None),
        ("+66", None),
        ("1" * 16, None),
    ],
)
def test_normalise_examples(raw: str | None, expected: str | None) -> None:
    assert normalise(raw) == expected


thai_subscriber = st.one_of(
    st.from_regex(r"[689][0-9]{8}", fullmatch=True),
    st.from_regex(r"[2-7][0-9]{7}", fullmatch=True),
)


@given(thai_subscriber)
def test_every_spelling_of_a_thai_number_is_the_same_caller(subscriber: str) -> None:
    spellings = [
        "0" + subscriber,
        "+66" + subscriber,
        "66" + subscriber,
        "0066" + subscriber,
        "+66 " + " ".join(subscriber),
        "+66-" + subscriber[:2] + "-" + subscriber[2:],
    ]
    assert {normalise(s) for s in spellings} == {"0" + subscriber}
    assert is_surveyable("+66" + subscriber)


@given(st.text(max_size=60))
def test_any_text_gives_none_or_a_canonical_number(raw: str) -> None:
    result = normalise(raw)
    assert result is None or CANONICAL.fullmatch(result)


@given(st.from_regex(r"\+?[0-9 ()\-.]{0,24}", fullmatch=True))
def test_normalise_is_idempotent(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


@pytest.mark.parametrize(
    ("number", "surveyable"),
    [
        ("0812345678", True),
        ("+66912345678", True),
        ("021234567", True),
        ("1169", False),
        ("15550101", False),
        ("anonymous", False),
        (None, False),
        ("+442079460958", False),
        ("0812", False),
    ],
)
def test_is_surveyable(number: str | None, surveyable: bool) -> None:
    assert is_surveyable(number) is surveyable
