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
    """A node signed the head of its event log (điểm kiểm tra có chữ ký): the position and hash of the last event
    covered, with an Ed25519 signature, so later tampering with the store is detectable.
    """

    NAME = "CheckpointSigned"


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
        CriteriaRegistered,
        EmulationBlocRegistered,
        GuidanceIssued,
        OrgUnitRegistered,
        PlanAmended,
        PlanIssued,
        PlanNumberAssigned,
        ReportReviewed,
        ReportSubmitted,
        TargetsRegistered,
    )
}
