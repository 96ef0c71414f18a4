"""Event classes generated from ``schemas/*.avsc`` by ``thidua schemas codegen``. Do not edit."""

from __future__ import annotations

from .events import Event


class AwardDecided(Event):
    """The deciding authority approved (with decision number and date) or rejected a proposal."""

    NAME = "AwardDecided"


class AwardForwarded(Event):
    """A reviewing level forwarded a proposal to the next step of its route."""

    NAME = "AwardForwarded"


class AwardProposed(Event):
    """An award proposal (đề nghị khen thưởng) was made; its route is computed from the authority matrix."""

    NAME = "AwardProposed"


class AwardReturned(Event):
    """A reviewing level returned a proposal to the proposer with a reason."""

    NAME = "AwardReturned"


class CheckpointSigned(Event):
    """A node signed the head of its event log (điểm kiểm tra có chữ ký): since signed appends a C2SP tlog-checkpoint
    (signed note) over the RFC 6962 Merkle tree of its event hashes, so later tampering with the store is
    detectable and witnesses can check consistency proofs. Older checkpoints carry only the v1 statement.
    """

    NAME = "CheckpointSigned"


class CheckpointWitnessRefused(Event):
    """A witness refused to countersign a node's checkpoint (điểm kiểm tra bị từ chối chứng thực): it is older or
    smaller than one already witnessed (the tail was dropped), not consistent with it (history rewritten), or its
    signature does not verify. Kept in the witness's own log so the alarm outlives the node's database.
    """

    NAME = "CheckpointWitnessRefused"


class CheckpointWitnessed(Event):
    """A witness countersigned a node's checkpoint after checking it is consistent with every earlier checkpoint it
    witnessed (điểm kiểm tra được chứng thực). Recorded by the witness (stream witness-<origin>) and by the origin
    when the cosignature comes back (stream cosigned-<witness>).
    """

    NAME = "CheckpointWitnessed"


class CriteriaRegistered(Event):
    """A criteria set (bộ tiêu chí) with measurable indicators was registered for a plan."""

    NAME = "CriteriaRegistered"


class EmulationBlocRegistered(Event):
    """A province's khối or cụm thi đua was registered (or redefined) with its members: reference data duties bind
    by.
    """

    NAME = "EmulationBlocRegistered"


class GuidanceIssued(Event):
    """A guidance document (hướng dẫn, nhắc việc) was issued to a subtree."""

    NAME = "GuidanceIssued"


class OrgUnitRegistered(Event):
    """An org unit below the official provinces and communes was registered (sở, agency, school, enterprise, co-op,
    MTTQ, village, ...).
    """

    NAME = "OrgUnitRegistered"


class PlanAmended(Event):
    """A plan was amended; amendments are versioned and keep history."""

    NAME = "PlanAmended"


class PlanIssued(Event):
    """A plan (kế hoạch) implementing a parent plan was issued by an org unit."""

    NAME = "PlanIssued"


class PlanNumberAssigned(Event):
    """A draft plan received its document number and issue date (it is now issued)."""

    NAME = "PlanNumberAssigned"


class ReportReviewed(Event):
    """The receiving level accepted or returned a report."""

    NAME = "ReportReviewed"


class ReportSubmitted(Event):
    """A unit submitted a report (báo cáo) for a plan and period."""

    NAME = "ReportSubmitted"


class SigningKeyActivated(Event):
    """A node started signing its appends, checkpoints and cosignatures with an Ed25519 key (khóa ký được kích hoạt).
    Appended in a batch signed by the key it replaces (rotation) or by itself (the node's first key), and sent to
    the node's parent and children so they can verify what it signs.
    """

    NAME = "SigningKeyActivated"


class SigningKeyRevoked(Event):
    """A node revoked one of its signing keys (thu hồi khóa ký) from a date: anything that key signed for events
    recorded after that date is no longer trusted; what it signed before still verifies.
    """

    NAME = "SigningKeyRevoked"


class TargetsRegistered(Event):
    """A unit registered for a plan and year with its own targets (đăng ký thi đua)."""

    NAME = "TargetsRegistered"


EVENT_TYPES: dict[str, type[Event]] = {
    c.NAME: c
    for c in (
        AwardDecided,
        AwardForwarded,
        AwardProposed,
        AwardReturned,
        CheckpointSigned,
        CheckpointWitnessRefused,
        CheckpointWitnessed,
        CriteriaRegistered,
        EmulationBlocRegistered,
        GuidanceIssued,
        OrgUnitRegistered,
        PlanAmended,
        PlanIssued,
        PlanNumberAssigned,
        ReportReviewed,
        ReportSubmitted,
        SigningKeyActivated,
        SigningKeyRevoked,
        TargetsRegistered,
    )
}
