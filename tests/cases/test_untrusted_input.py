"""Whatever a user types into a form or a URL, the case code answers without crashing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cases.errors import InvalidCaseData
from cases.intake import FIELD_NAMES, IntakeForm
from cases.register import RegisterFilter

KEYS = [*FIELD_NAMES, "significant", "page", "page_size", "date_from", "status", "unit_id"]
forms = st.dictionaries(st.sampled_from(KEYS), st.text(max_size=300), max_size=len(KEYS))


@settings(max_examples=200, deadline=None)
@given(data=forms)
def test_the_intake_form_either_parses_or_names_the_bad_fields(data: dict[str, str]) -> None:
    try:
        form = IntakeForm.parse(data)
    except InvalidCaseData as exc:
        assert exc.field_errors
        assert set(exc.field_errors) <= set(FIELD_NAMES)
    else:
        assert form.topic.strip() == form.topic and form.topic
        assert "\x00" not in form.details


@settings(max_examples=200, deadline=None)
@given(data=forms)
def test_a_register_url_always_gives_a_filter_that_survives_a_round_trip(
    data: dict[str, str],
) -> None:
    flt = RegisterFilter.from_query(data)
    assert flt.page >= 1 and 1 <= flt.page_size <= 200
    assert RegisterFilter.from_query(flt.to_query()) == flt
