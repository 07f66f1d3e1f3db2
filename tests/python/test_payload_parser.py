"""The payload parser behind verify() returns exactly what json.loads returns."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from protekt import _core

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)


def same(a: object, b: object) -> bool:
    """Equality that also tells 0.0 from -0.0 and 1 from 1.0 and True."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.booleans(), st.booleans())
def test_any_json_document_parses_as_json_loads_parses_it(
    value: object, ascii_only: bool, as_bytes: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    body: str | bytes = text.encode() if as_bytes else text

    assert same(_core.loads(body), json.loads(body))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from('{}[]",:0123456789.eE+-truefalsnu \\\n\x01é')))
def test_any_text_parses_or_fails_as_json_loads_does(text: str) -> None:
    try:
        expected: object = json.loads(text)
    except ValueError as exc:
        expected = type(exc)
    try:
        actual: object = _core.loads(text)
    except ValueError as exc:
        actual = type(exc)

    assert same(actual, expected)
