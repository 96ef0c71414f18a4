"""Checkpoint statements and signatures, and when an automatic checkpoint is due (no I/O)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.checkpoints import Checkpointer, LogState, check_signature, due, statement
from services.audit.notes import checkpoint_text, origin_of, sign_note
from services.kernel.signing import LocalKey, key_id

pytestmark = pytest.mark.unit
KEY = Ed25519PrivateKey.generate()
TRUSTED = KEY.public_key()


def signed(**overrides):  # type: ignore[no-untyped-def]
    data = {"signer_node": "p46", "head_position": 12, "head_hash": "ab" * 32, "event_count": 12}
    data |= {"algorithm": "Ed25519", "key_id": key_id(KEY.public_key())}
    data["signature"] = base64.b64encode(KEY.sign(statement("p46", 12, "ab" * 32, 12))).decode()
    return data | overrides


def test_statement_is_stable() -> None:
    assert statement("p46", 3, "00" * 32, 3) == b"thidua-checkpoint/v1\np46\n3\n" + b"00" * 32 + b"\n3\n"


def test_valid_checkpoint_verifies() -> None:
    assert check_signature(signed(), TRUSTED) is None


@pytest.mark.parametrize(
    "change", [{"head_position": 13}, {"head_hash": "cd" * 32}, {"event_count": 11}, {"signer_node": "p15"}]
)
def test_any_changed_fact_breaks_the_signature(change: dict) -> None:  # type: ignore[type-arg]
    assert "does not verify" in (check_signature(signed(**change), TRUSTED) or "")


def test_another_key_is_refused() -> None:
    assert "does not verify" in (check_signature(signed(), Ed25519PrivateKey.generate().public_key()) or "")


def c2sp(**overrides):  # type: ignore[no-untyped-def]
    root = bytes(range(32))
    note = sign_note(checkpoint_text(origin_of("p46"), 12, root), origin_of("p46"), LocalKey(KEY))
    data = signed(note=note.render(), root_hash=base64.b64encode(root).decode())
    return data | overrides


def test_a_c2sp_checkpoint_verifies_by_its_note_and_must_agree_with_the_event() -> None:
    assert check_signature(c2sp(), TRUSTED) is None
    assert "no valid signature" in (check_signature(c2sp(), Ed25519PrivateKey.generate().public_key()) or "")
    assert "does not say what" in (check_signature(c2sp(event_count=13), TRUSTED) or "")
    assert "does not say what" in (check_signature(c2sp(root_hash=base64.b64encode(bytes(32)).decode()), TRUSTED) or "")
    forged = c2sp()["note"].replace("\n12\n", "\n13\n")
    assert "no valid signature" in (check_signature(c2sp(note=forged, event_count=13), TRUSTED) or "")


# --- automatic checkpoints: the decision (every N events or S seconds, never over nothing new) ----------------

T0 = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)


def checkpointer(every: int, minutes: float) -> Checkpointer:
    return Checkpointer(None, lambda: KEY, every, minutes * 60, started_at=T0)  # type: ignore[arg-type]  # no I/O here


def test_n_events_since_the_last_checkpoint_make_one_due() -> None:
    auto = checkpointer(every=5, minutes=0)
    signed = T0 + timedelta(minutes=1)
    assert not auto.due(LogState(4, signed), T0 + timedelta(days=30))  # time alone does nothing when M is off
    assert auto.due(LogState(5, signed), signed)
    assert auto.due(LogState(7, None), T0)


def test_m_minutes_make_one_due_only_when_something_new_came() -> None:
    auto = checkpointer(every=1000, minutes=10)
    signed = T0 + timedelta(minutes=3)
    assert not auto.due(LogState(1, signed), signed + timedelta(minutes=9, seconds=59))
    assert auto.due(LogState(1, signed), signed + timedelta(minutes=10))
    assert not auto.due(LogState(0, signed), signed + timedelta(hours=5))  # never a checkpoint over nothing new


def test_without_any_checkpoint_the_minutes_count_from_the_start() -> None:
    auto = checkpointer(every=1000, minutes=10)
    assert not auto.due(LogState(3, None), T0 + timedelta(minutes=9))
    assert auto.due(LogState(3, None), T0 + timedelta(minutes=10))


def test_nothing_is_ever_due_when_both_triggers_are_off() -> None:
    auto = checkpointer(every=0, minutes=0)
    assert not auto.enabled
    assert not auto.due(LogState(10**6, None), T0 + timedelta(days=365))
    assert not due(LogState(10**6, None), T0 + timedelta(days=365), 0, 0, T0)


@pytest.mark.parametrize("unsigned", [0, -1])
def test_no_unsigned_event_beats_both_triggers(unsigned: int) -> None:
    assert not due(LogState(unsigned, None), T0 + timedelta(days=1), every=1, seconds=60, started_at=T0)


def test_the_thread_looks_often_enough_for_a_window_of_seconds() -> None:
    assert checkpointer(every=0, minutes=10).tick_seconds == 5.0
    assert Checkpointer(None, lambda: KEY, 0, 2.0, T0).tick_seconds == 1.0  # type: ignore[arg-type]
    assert Checkpointer(None, lambda: KEY, 0, 0.1, T0).tick_seconds == 0.2  # type: ignore[arg-type]
