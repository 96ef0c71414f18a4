"""``projections.bulk.JSON_TEXT``, the serialiser of JSON columns written by COPY and unnested arrays: the text
``json.dumps`` gives (what SQLAlchemy writes), for every kind of value the read models hold."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from projections.bulk import JSON_TEXT

pytestmark = pytest.mark.unit

VALUES: list[Any] = [
    None,
    True,
    0,
    -17,
    2**70,
    12.5,
    1e-7,
    3.0,
    math.inf,
    -math.inf,
    'Đổi mới sáng tạo, "chuyển đổi số"\n\t\\ /',
    "\U0001f600",
    [],
    {},
    (("CT01", 12.5, True), ("CT02", 3.0, None), ("CT03", 100, False)),
    [["MT-1", 0.25]],
    {"b": [1, {"c": None}], "a": "khối thi đua", "1": 1.5},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_text_of_json_dumps(value: Any) -> None:
    assert JSON_TEXT(value) == json.dumps(value)


def test_not_a_number_and_what_json_cannot_hold() -> None:
    assert JSON_TEXT(math.nan) == json.dumps(math.nan) == "NaN"
    with pytest.raises(TypeError):
        JSON_TEXT({1, 2})
