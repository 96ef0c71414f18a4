"""Pagination cursors: signed by the node for one list, refused with 400 INVALID_CURSOR when
altered, of another list or node, too long, or of the wrong shape; the event feed's unsigned cursors of the last
release are still read for this release."""

from __future__ import annotations

import base64
import json

import pytest

from services.api.pagination import AWARDS, CONFERRED, EVENTS, PLANS, CursorCodec
from services.api.problems import status_of
from services.kernel.errors import DomainRefusal

pytestmark = pytest.mark.unit
NODE = CursorCodec(secret=b"k" * 32)


def _refused(kind, cursor, legacy=False) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainRefusal) as caught:
        NODE.decode(kind, cursor, legacy)
    assert (caught.value.code, status_of(caught.value)) == ("INVALID_CURSOR", 400)
    return str(caught.value.details["reason"])


def test_a_cursor_round_trips_on_its_list_only() -> None:
    cursor = NODE.encode(CONFERRED, ["2026-12-20", "gk-ds-2026-1"])
    assert cursor.startswith("v1.") and NODE.decode(CONFERRED, cursor) == ["2026-12-20", "gk-ds-2026-1"]
    assert NODE.decode(PLANS, None) is None and NODE.decode(PLANS, "") is None
    assert "signature" in _refused(AWARDS, NODE.encode(PLANS, ["x"]))  # another list
    assert "signature" in _refused(PLANS, CursorCodec(secret=b"o" * 32).encode(PLANS, ["x"]))  # another node
    altered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    assert "signature" in _refused(CONFERRED, altered)


def test_garbage_is_refused_before_anything_is_decoded() -> None:
    assert _refused(PLANS, "x" * 3000) == "too long"
    deep = base64.urlsafe_b64encode(b"[" * 500 + b"]" * 500).decode()
    for garbage in ("%%%", "v1..", "v1.e30.short", deep, "WyJ4Il0="):  # the last: unsigned base64 JSON
        _refused(PLANS, garbage)


def test_a_signed_key_of_the_wrong_shape_is_refused_too() -> None:
    """Defence in depth: a key the node never writes (a leaked secret, a change of shape) never reaches a query."""
    for kind, key in (
        (EVENTS, ["1"]),
        (EVENTS, [-1]),
        (EVENTS, [2**63]),
        (EVENTS, [True]),
        (PLANS, ["a\x00"]),
        (PLANS, [1]),
        (PLANS, ["a", "b"]),
        (CONFERRED, ["20-12-2026", "x"]),
    ):
        payload = base64.urlsafe_b64encode(json.dumps(key).encode()).rstrip(b"=").decode()
        forged = f"v1.{payload}.{NODE._mac(kind, payload)}"  # signed with the node's own key
        assert "shape" in _refused(kind, forged), key
    with pytest.raises(ValueError, match="not a position"):
        NODE.encode(EVENTS, ["not a position"])


def test_the_event_feed_still_reads_last_releases_cursors() -> None:
    legacy = base64.urlsafe_b64encode(json.dumps([42]).encode()).decode()
    assert NODE.decode(EVENTS, legacy, legacy=True) == [42]
    _refused(EVENTS, legacy)  # only where the feed asks for it
    _refused(EVENTS, base64.urlsafe_b64encode(json.dumps([-1]).encode()).decode(), legacy=True)
    _refused(EVENTS, base64.urlsafe_b64encode(json.dumps([[1]]).encode()).decode(), legacy=True)
