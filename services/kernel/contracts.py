"""Types of the Avro contracts, generated from ``schemas/*.avsc`` (``thidua schemas codegen``). Do not edit.

Enums are ``Literal`` unions, records ``TypedDict``s, and every event has its payload type ``<Name>Data`` and its
``Event`` class (``data`` typed by the payload); see ``services/kernel/codegen.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, NotRequired, TypedDict

from .events import Event

ActorKind = Literal["USER", "CLIENT", "SYSTEM"]
"""Who acted: a person (USER), an integration client such as the LGSP (CLIENT), or the system itself (SYSTEM)."""

OrgLevel = Literal["CENTRAL", "PROVINCE", "COMMUNE", "UNIT"]
"""Administrative level (cấp): CENTRAL (trung ương), PROVINCE (tỉnh), COMMUNE (xã), UNIT (cơ quan, đơn vị)."""


class Actor(TypedDict):
    """The person, client or process that caused an event."""

    actor_id: str
    kind: ActorKind
    display_name: NotRequired[str | None]
    org_unit_path: NotRequired[str | None]
    roles: NotRequired[list[str]]


class AwardAllowance(TypedDict):
    """An award form a plan allows for an occasion (hình thức khen thưởng theo đợt)."""

    occasion: str
    form_code: str
    text: NotRequired[str | None]


class ContentArea(TypedDict):
    """A content area (nội dung thi đua) of a plan."""

    code: str
    title: str


class CriteriaItem(TypedDict):
    """An item of a criteria set (tiêu chí) with its indicators."""

    code: str
    title: str
    indicators: NotRequired[list[Indicator]]


class DocumentReference(TypedDict):
    """A document a plan cites (Thực hiện, Căn cứ, Triển khai) or a movement it is linked with (gắn với)."""

    kind: str
    ref: NotRequired[str | None]
    date: NotRequired[date | None]
    issuer: NotRequired[str | None]
    title: NotRequired[str | None]
    relation: NotRequired[str | None]
    plan_id: NotRequired[str | None]
    duplicate: NotRequired[bool]
    source_text: NotRequired[str | None]


class DomainWarning(TypedDict):
    """A fact accepted with a warning (e.g. conflicting targets, a seed's typo), shown on the read side."""

    code: str
    message_vi: str
    message_en: str
    source_text: NotRequired[str | None]
    refs: NotRequired[list[str]]


class EventMetadata(TypedDict):
    """Envelope metadata carried by every event, so a message is complete without its transport headers."""

    event_id: str
    stream_id: str
    stream_version: int
    occurred_at: datetime
    recorded_at: datetime
    node_id: str
    org_unit: OrgUnitRef
    actor: Actor
    correlation_id: NotRequired[str | None]
    causation_id: NotRequired[str | None]


class Indicator(TypedDict):
    """A measurable indicator (chỉ tiêu) of a criteria item."""

    code: str
    name: str
    unit: NotRequired[str | None]
    comparator: str
    threshold: NotRequired[float | None]
    threshold_max: NotRequired[float | None]
    year: NotRequired[int | None]
    horizon: NotRequired[int | None]
    scope: NotRequired[str | None]
    scope_kinds: NotRequired[list[str]]
    comparison: NotRequired[str | None]
    recurrence: NotRequired[str | None]
    approximate: NotRequired[bool]
    conditions: NotRequired[list[IndicatorCondition]]
    source_text: NotRequired[str | None]


class IndicatorCondition(TypedDict):
    """A second condition printed with a target ("trong đó ≥ 50 % gắn với doanh nghiệp"), judged as its own measure."""

    code: str
    name: str
    unit: NotRequired[str | None]
    comparator: str
    threshold: NotRequired[float | None]
    threshold_max: NotRequired[float | None]
    baseline_year: NotRequired[int | None]
    source_text: NotRequired[str | None]


class IndicatorValue(TypedDict):
    """A reported value of an indicator."""

    indicator_code: str
    value: float
    note: NotRequired[str | None]


class Nominee(TypedDict):
    """The nominee of an award proposal: an individual, a collective or a household."""

    kind: str
    name: str
    org_unit: OrgUnitRef


class OrgUnitRef(TypedDict):
    """Reference to an org unit (đơn vị) by its code and hierarchical path; names are never keys."""

    code: str
    path: str
    level: OrgLevel
    name: NotRequired[str | None]


class PlanPeriod(TypedDict):
    """The span of a plan or movement as stated (giai đoạn 2026 – 2030), known even when its phases are not."""

    start_date: date
    end_date: date
    date_precision: NotRequired[str | None]
    source_text: NotRequired[str | None]


class PlanPhase(TypedDict):
    """A phase of a plan (giai đoạn) with its review (sơ kết / tổng kết)."""

    code: str
    name: str
    start_date: date
    end_date: date
    review: NotRequired[str | None]
    date_precision: NotRequired[str | None]
    review_from: NotRequired[date | None]
    review_to: NotRequired[date | None]
    review_period: NotRequired[str | None]
    review_text: NotRequired[str | None]
    review_with: NotRequired[str | None]
    review_follows: NotRequired[str | None]


class PrerequisiteCheck(TypedDict):
    """A prerequisite of an award form checked on a proposal."""

    rule: str
    status: str
    legal_basis: str
    detail: NotRequired[str | None]


class ReportingDuty(TypedDict):
    """A reporting duty (chế độ báo cáo): who reports to whom, for which period, by when."""

    code: str
    who: str
    reporter_levels: NotRequired[list[str]]
    reporter_under: NotRequired[str | None]
    reporter_kinds: NotRequired[list[str]]
    reporter_name: NotRequired[str | None]
    to: NotRequired[list[str]]
    via: NotRequired[str | None]
    period: str
    deadline_kind: str
    deadline_month: NotRequired[int | None]
    deadline_day: NotRequired[int | None]
    deadline_date: NotRequired[date | None]
    text: str
    reporter_direct: NotRequired[bool]
    reporter_member_of: NotRequired[str | None]
    reporter_agency: NotRequired[str | None]
    receiver_agencies: NotRequired[list[str]]


class RouteStep(TypedDict):
    """One step of an award proposal's route up to its deciding authority."""

    org_unit: OrgUnitRef
    role: str
    authority: NotRequired[str | None]


class SyncReceipt(TypedDict):
    """What a receiving node imported from one source node for one period of business time (biên nhận đồng bộ): the
    count and a digest of the event ids, so the sender can prove completeness.
    """

    source_node: str
    target_node: str
    period: str
    count: int
    digest: str
    event_ids: NotRequired[list[str]]
    issued_at: datetime


class SyncStatus(TypedDict):
    """A node's sync sender says how far it got (trạng thái gửi đồng bộ), on the node's compacted receipts topic, so
    a peer's reconciliation sees a backlog, or a sender that went silent, without asking the node.
    """

    node_id: str
    head_position: int
    sent_position: int
    unsent_events: int
    reported_at: datetime


class WitnessRequest(TypedDict):
    """A node asks a witness (its parent or central) to countersign its latest checkpoint, with the RFC 6962
    consistency proof from the largest checkpoint that witness countersigned before (sent on the sync topic).
    """

    origin_node: str
    witness_node: str
    checkpoint: str
    head_position: int
    old_size: int
    proof: list[str]
    sent_at: datetime


class WitnessResponse(TypedDict):
    """A witness's answer to a WitnessRequest: the cosignature, or why not (sent back on the witness's sync topic
    addressed to the origin).
    """

    origin_node: str
    witness_node: str
    status: str
    tree_size: int
    root_hash: str
    head_position: NotRequired[int]
    checkpoint: NotRequired[str]
    witnessed_size: int
    witnessed_root: NotRequired[str]
    reason: NotRequired[str | None]
    answered_at: datetime


class AwardDecidedData(TypedDict):
    """The payload of AwardDecided (every field but meta)."""

    proposal_id: str
    outcome: str
    decider: OrgUnitRef
    decision_number: NotRequired[str | None]
    decision_date: NotRequired[date | None]
    reason: NotRequired[str | None]


class AwardDecided(Event):
    """The deciding authority approved (with decision number and date) or rejected a proposal."""

    NAME = "AwardDecided"
    data: AwardDecidedData


class AwardForwardedData(TypedDict):
    """The payload of AwardForwarded (every field but meta)."""

    proposal_id: str
    from_unit: OrgUnitRef
    to_unit: OrgUnitRef
    note: NotRequired[str | None]


class AwardForwarded(Event):
    """A reviewing level forwarded a proposal to the next step of its route."""

    NAME = "AwardForwarded"
    data: AwardForwardedData


class AwardProposedData(TypedDict):
    """The payload of AwardProposed (every field but meta)."""

    proposal_id: str
    plan_id: NotRequired[str | None]
    nominee: Nominee
    form_code: str
    occasion: str
    achievements: str
    proposer: OrgUnitRef
    route: NotRequired[list[RouteStep]]
    decider_authority: NotRequired[str | None]
    prerequisites: NotRequired[list[PrerequisiteCheck]]
    warnings: NotRequired[list[DomainWarning]]
    occasion_period: NotRequired[str | None]


class AwardProposed(Event):
    """An award proposal (đề nghị khen thưởng) was made; its route is computed from the authority matrix."""

    NAME = "AwardProposed"
    data: AwardProposedData


class AwardReturnedData(TypedDict):
    """The payload of AwardReturned (every field but meta)."""

    proposal_id: str
    from_unit: OrgUnitRef
    to_unit: OrgUnitRef
    reason: str


class AwardReturned(Event):
    """A reviewing level returned a proposal to the proposer with a reason."""

    NAME = "AwardReturned"
    data: AwardReturnedData


class CheckpointSignedData(TypedDict):
    """The payload of CheckpointSigned (every field but meta)."""

    signer_node: str
    head_position: int
    head_hash: str
    event_count: int
    algorithm: NotRequired[str]
    key_id: str
    signature: str
    signed_at: datetime
    note: NotRequired[str]
    root_hash: NotRequired[str]
    frontier: NotRequired[list[str]]


class CheckpointSigned(Event):
    """A node signed the head of its event log (điểm kiểm tra có chữ ký): since signed appends a C2SP tlog-checkpoint
    (signed note) over the RFC 6962 Merkle tree of its event hashes, so later tampering with the store is
    detectable and witnesses can check consistency proofs. Older checkpoints carry only the v1 statement.
    """

    NAME = "CheckpointSigned"
    data: CheckpointSignedData


class CheckpointWitnessRefusedData(TypedDict):
    """The payload of CheckpointWitnessRefused (every field but meta)."""

    origin_node: str
    witness_node: str
    tree_size: int
    root_hash: str
    checkpoint: str
    reason: str
    witnessed_size: int
    witnessed_root: str
    detail: NotRequired[str]
    refused_at: datetime


class CheckpointWitnessRefused(Event):
    """A witness refused to countersign a node's checkpoint (điểm kiểm tra bị từ chối chứng thực): it is older or
    smaller than one already witnessed (the tail was dropped), not consistent with it (history rewritten), or its
    signature does not verify. Kept in the witness's own log so the alarm outlives the node's database.
    """

    NAME = "CheckpointWitnessRefused"
    data: CheckpointWitnessRefusedData


class CheckpointWitnessedData(TypedDict):
    """The payload of CheckpointWitnessed (every field but meta)."""

    origin_node: str
    witness_node: str
    tree_size: int
    root_hash: str
    head_position: int
    checkpoint: str
    cosigned_at: datetime


class CheckpointWitnessed(Event):
    """A witness countersigned a node's checkpoint after checking it is consistent with every earlier checkpoint it
    witnessed (điểm kiểm tra được chứng thực). Recorded by the witness (stream witness-<origin>) and by the origin
    when the cosignature comes back (stream cosigned-<witness>).
    """

    NAME = "CheckpointWitnessed"
    data: CheckpointWitnessedData


class CriteriaRegisteredData(TypedDict):
    """The payload of CriteriaRegistered (every field but meta)."""

    criteria_id: str
    plan_id: str
    owner: OrgUnitRef
    subject_category: str
    items: NotRequired[list[CriteriaItem]]
    warnings: NotRequired[list[DomainWarning]]


class CriteriaRegistered(Event):
    """A criteria set (bộ tiêu chí) with measurable indicators was registered for a plan."""

    NAME = "CriteriaRegistered"
    data: CriteriaRegisteredData


class EmulationBlocRegisteredData(TypedDict):
    """The payload of EmulationBlocRegistered (every field but meta)."""

    bloc_code: str
    name: str
    kind: str
    province: OrgUnitRef
    members: NotRequired[list[str]]
    source_document: NotRequired[str | None]


class EmulationBlocRegistered(Event):
    """A province's khối or cụm thi đua was registered (or redefined) with its members: reference data duties bind
    by.
    """

    NAME = "EmulationBlocRegistered"
    data: EmulationBlocRegisteredData


class GuidanceIssuedData(TypedDict):
    """The payload of GuidanceIssued (every field but meta)."""

    guidance_id: str
    issuer: OrgUnitRef
    title: str
    document_number: NotRequired[str | None]
    issue_date: NotRequired[date | None]
    addressed_to: NotRequired[list[str]]
    summary: NotRequired[str | None]


class GuidanceIssued(Event):
    """A guidance document (hướng dẫn, nhắc việc) was issued to a subtree."""

    NAME = "GuidanceIssued"
    data: GuidanceIssuedData


class OrgUnitRegisteredData(TypedDict):
    """The payload of OrgUnitRegistered (every field but meta)."""

    unit: OrgUnitRef
    parent_path: str
    name: str
    unit_kind: str
    subject_category: NotRequired[str | None]
    emulation_bloc: NotRequired[str | None]
    valid_from: NotRequired[date | None]
    agency_type: NotRequired[str | None]


class OrgUnitRegistered(Event):
    """An org unit below the official provinces and communes was registered (sở, agency, school, enterprise, co-op,
    MTTQ, village, ...).
    """

    NAME = "OrgUnitRegistered"
    data: OrgUnitRegisteredData


class PlanAmendedData(TypedDict):
    """The payload of PlanAmended (every field but meta)."""

    plan_id: str
    amendment_no: int
    reason: str
    document_number: NotRequired[str | None]
    issue_date: NotRequired[date | None]
    title: NotRequired[str | None]
    phases: NotRequired[list[PlanPhase] | None]


class PlanAmended(Event):
    """A plan was amended; amendments are versioned and keep history."""

    NAME = "PlanAmended"
    data: PlanAmendedData


class PlanIssuedData(TypedDict):
    """The payload of PlanIssued (every field but meta)."""

    plan_id: str
    issuer: OrgUnitRef
    document_number: NotRequired[str | None]
    document_symbol: str
    issue_date: NotRequired[date | None]
    title: str
    signer_name: NotRequired[str | None]
    signer_capacity: NotRequired[str | None]
    implements: NotRequired[list[str]]
    phases: NotRequired[list[PlanPhase]]
    content_areas: NotRequired[list[ContentArea]]
    reporting_duties: NotRequired[list[ReportingDuty]]
    award_forms: NotRequired[list[AwardAllowance]]
    criteria_owners: NotRequired[list[str]]
    plan_deadline: NotRequired[date | None]
    warnings: NotRequired[list[DomainWarning]]
    period: NotRequired[PlanPeriod | None]
    issuer_name: NotRequired[str | None]
    references: NotRequired[list[DocumentReference]]


class PlanIssued(Event):
    """A plan (kế hoạch) implementing a parent plan was issued by an org unit."""

    NAME = "PlanIssued"
    data: PlanIssuedData


class PlanNumberAssignedData(TypedDict):
    """The payload of PlanNumberAssigned (every field but meta)."""

    plan_id: str
    document_number: str
    issue_date: date


class PlanNumberAssigned(Event):
    """A draft plan received its document number and issue date (it is now issued)."""

    NAME = "PlanNumberAssigned"
    data: PlanNumberAssignedData


class ReportReviewedData(TypedDict):
    """The payload of ReportReviewed (every field but meta)."""

    report_id: str
    version: int
    outcome: str
    reviewer: OrgUnitRef
    reason: NotRequired[str | None]


class ReportReviewed(Event):
    """The receiving level accepted or returned a report."""

    NAME = "ReportReviewed"
    data: ReportReviewedData


class ReportSubmittedData(TypedDict):
    """The payload of ReportSubmitted (every field but meta)."""

    report_id: str
    plan_id: str
    unit: OrgUnitRef
    period: str
    version: int
    submitted_to: NotRequired[OrgUnitRef | None]
    values: NotRequired[list[IndicatorValue]]
    narrative: NotRequired[str | None]
    attachments: NotRequired[list[str]]
    duty_code: NotRequired[str | None]
    deadline: NotRequired[date | None]
    late: NotRequired[bool]
    initiatives: NotRequired[list[str]]


class ReportSubmitted(Event):
    """A unit submitted a report (báo cáo) for a plan and period."""

    NAME = "ReportSubmitted"
    data: ReportSubmittedData


class SigningKeyActivatedData(TypedDict):
    """The payload of SigningKeyActivated (every field but meta)."""

    key_id: str
    algorithm: NotRequired[str]
    public_key: str
    activated_at: datetime
    previous_key_id: NotRequired[str | None]
    possession: str


class SigningKeyActivated(Event):
    """A node started signing its appends, checkpoints and cosignatures with an Ed25519 key (khóa ký được kích hoạt).
    Appended in a batch signed by the key it replaces (rotation) or by itself (the node's first key), and sent to
    the node's parent and children so they can verify what it signs.
    """

    NAME = "SigningKeyActivated"
    data: SigningKeyActivatedData


class SigningKeyRevokedData(TypedDict):
    """The payload of SigningKeyRevoked (every field but meta)."""

    key_id: str
    revoked_since: datetime
    reason: str


class SigningKeyRevoked(Event):
    """A node revoked one of its signing keys (thu hồi khóa ký) from a date: anything that key signed for events
    recorded after that date is no longer trusted; what it signed before still verifies.
    """

    NAME = "SigningKeyRevoked"
    data: SigningKeyRevokedData


class TargetsRegisteredData(TypedDict):
    """The payload of TargetsRegistered (every field but meta)."""

    registration_id: str
    plan_id: str
    unit: OrgUnitRef
    year: int
    targets: NotRequired[list[IndicatorValue]]


class TargetsRegistered(Event):
    """A unit registered for a plan and year with its own targets (đăng ký thi đua)."""

    NAME = "TargetsRegistered"
    data: TargetsRegisteredData


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
