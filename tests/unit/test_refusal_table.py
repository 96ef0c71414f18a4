"""Every refusal code raised anywhere in the product has a documented answer: the codes are found in the source
(``DomainRefusal("CODE", Kind.…, …)``, ``code = "CODE"`` of a ThiduaError with its ``kind``, the access errors, the
problems the API builds itself) and must each be a row of ``services.api.refusals`` — with the status the API gives
their kind (``services.api.problems.STATUS``) —,
of the table in docs/api.md and of the OpenAPI responses; or be one of the few codes that never reach the HTTP API,
listed here with where they surface instead."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from services.api.problems import STATUS
from services.api.refusals import BY_CODE, REFUSALS, markdown
from services.kernel.errors import Kind

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NOT_HTTP = {  # code → where it surfaces instead of the HTTP API
    "THIDUA_ERROR": "the base class; never raised",
    "ORIGIN_MISMATCH": "thidua sync import (CLI)",
    "ORIGIN_SIGNATURE": "thidua sync import (an origin proof that does not verify) and audit verify",
    "UNDECODABLE_MESSAGE": "Kafka dead-letter topic",
    "TYPE_MISMATCH": "Kafka dead-letter topic",
    "UNMAPPED_EVENT_TYPE": "Kafka relay (a defect: an event type without a topic)",
    "CSRF_FAILED": "web app (a Vietnamese page)",
    "UNKNOWN_STREAM": "web app (audit page)",
}
CONSTRUCTORS = {"DomainRefusal", "Unauthenticated", "_refusal"}  # first argument: the code; DomainRefusal: kind
SKIPPED_DIRS = ("services/web/accounts",)  # account errors of the web app's CLI (AccountError), not refusals


def _trees() -> list[ast.Module]:
    paths = [p for p in (ROOT / "services").rglob("*.py") if not str(p.relative_to(ROOT)).startswith(SKIPPED_DIRS)]
    return [ast.parse(path.read_text(encoding="utf-8")) for path in paths]


def operator_classes(trees: list[ast.Module]) -> set[str]:
    """Classes that are (by their bases) OperatorError: the CLI's errors, told in two lines with an exit code."""
    bases = {
        n.name: {getattr(b, "id", getattr(b, "attr", "")) for b in n.bases}
        for t in trees
        for n in ast.walk(t)
        if isinstance(n, ast.ClassDef)
    }
    found = {"OperatorError"}
    while grown := {name for name, of in bases.items() if of & found} - found:
        found |= grown
    return found


def _status(node: ast.expr) -> int | None:
    """The HTTP status of a ``Kind.X`` expression in the source (None: not a kind written out)."""
    if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "Kind":
        return STATUS[Kind[node.attr]]
    return None


def raised_codes() -> dict[str, set[int | None]]:
    """Every code the source raises for the HTTP API, with the statuses given alongside it (None: set elsewhere);
    the CLI's operator errors (docs/operations.md) are not HTTP answers."""
    found: dict[str, set[int | None]] = defaultdict(set)
    trees = _trees()
    operators = operator_classes(trees)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
                if name in CONSTRUCTORS and args and isinstance(args[0], str):
                    found[args[0]].add(_status(node.args[1]) if name == "DomainRefusal" and len(args) > 1 else None)
                if name == "problem" and len(args) > 1 and isinstance(args[0], int) and isinstance(args[1], str):
                    found[args[1]].add(args[0])
            if isinstance(node, ast.ClassDef) and node.name not in operators:
                status = None
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Attribute):
                        targets = {getattr(t, "id", "") for t in statement.targets}
                        if "kind" in targets:
                            status = _status(statement.value)
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and isinstance(statement.value, ast.Constant)
                        and "code" in {getattr(t, "id", "") for t in statement.targets}
                    ):
                        found[statement.value.value].add(status)
    return found


def test_the_scan_finds_the_codes_it_should() -> None:
    """The scan is not vacuous: it sees codes of each kind of source, and tells the CLI's errors apart."""
    assert {"OperatorError", "DatabaseNotCurrent", "NoDatabase", "DatabaseUnreachable"} <= operator_classes(_trees())
    found = raised_codes()
    assert "DATABASE_NOT_CURRENT" not in found and "PORT_IN_USE" not in found
    for code in (
        "PROPOSAL_CLOSED",
        "INVALID_CURSOR",
        "TOKEN_EXPIRED",
        "VERSION_CONFLICT",
        "INVALID_PERIOD",
        "MALFORMED_BODY",
        "INVALID_PARAMETER",
        "NOT_FOUND",
    ):
        assert code in found, code
    assert len(found) > 70


def test_every_raised_code_is_in_the_table_with_its_status() -> None:
    found = raised_codes()
    missing = sorted(set(found) - set(BY_CODE) - set(NOT_HTTP))
    assert not missing, f"add to services/api/refusals.py (and regenerate docs/api.md, docs/openapi.json): {missing}"
    wrong = {
        c: (sorted(s for s in found[c] if s), BY_CODE[c].statuses)
        for c in found
        if c in BY_CODE
        if {s for s in found[c] if isinstance(s, int)} - set(BY_CODE[c].statuses)
    }
    assert not wrong, wrong


def test_the_table_has_no_code_nothing_raises() -> None:
    assert sorted(set(BY_CODE) - set(raised_codes())) == []
    assert len(BY_CODE) == len(REFUSALS)
    assert all(r.vi and r.en and r.action and r.statuses for r in REFUSALS)


def test_docs_api_md_holds_the_table() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- refusals:start[^>]*-->\n(.*?)<!-- refusals:end -->", text, re.S)
    assert block is not None and block.group(1) == markdown(), "regenerate the table: thidua api refusals"


def test_the_openapi_responses_list_every_code_of_their_status() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    listed: set[str] = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    codes = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", response["description"]))
                    assert {r.code for r in REFUSALS if int(status) in r.statuses} <= codes, (status, operation)
                    listed |= codes
    assert {r.code for r in REFUSALS if set(r.statuses) & {400, 401, 403, 404, 409, 422, 429}} <= listed
