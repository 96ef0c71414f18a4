"""docs/openapi.json is the API's OpenAPI document as the code serves it; every request field is bilingual."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.cli.api import render_openapi

pytestmark = pytest.mark.contract

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def document() -> str:
    return render_openapi()


def test_the_committed_document_is_current(document: str) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == document, (
        "docs/openapi.json is stale: regenerate it with `thidua api openapi > docs/openapi.json`"
    )


def _request_models(api: dict[str, Any]) -> set[str]:
    found = set()
    for operations in api["paths"].values():
        for operation in operations.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                if "$ref" in content["schema"]:
                    found.add(content["schema"]["$ref"].rsplit("/", 1)[-1])
    return found


def test_every_request_field_is_described_in_vietnamese_and_english(document: str) -> None:
    api = json.loads(document)
    schemas = api["components"]["schemas"]
    todo, seen, undocumented = list(_request_models(api)), set(), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for field, spec in schemas[name].get("properties", {}).items():
            if " / " not in spec.get("description", ""):
                undocumented.append(f"{name}.{field}")
            todo += [r.rsplit("/", 1)[-1] for r in _refs(spec)]
        assert schemas[name].get("additionalProperties") is False, f"{name} must refuse unknown fields"
    assert len(seen) >= 20 and undocumented == []


def _refs(spec: Any) -> list[str]:
    if isinstance(spec, dict):
        return [spec["$ref"]] if "$ref" in spec else [r for v in spec.values() for r in _refs(v)]
    if isinstance(spec, list):
        return [r for v in spec for r in _refs(v)]
    return []
