"""Versioned award-authority matrix (ma trận thẩm quyền khen thưởng): who decides a form, and the route to them.

Data: ``authority_matrix.csv`` (one row per form and version, half-open ``[effective_from, effective_to)``),
read once through ``importlib.resources``, with the tables of ``lawtables.py`` (occasions, unit powers, allowance
codes). Rules and the reasons behind them: ``README.md`` in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources

from .errors import AuthorityMismatch, UnknownAwardForm
from .forms import AwardForm, parse_authority_matrix_csv
from .lawtables import (
    AllowanceCodes,
    OccasionRules,
    UnitPowers,
    load_allowance_codes,
    load_occasion_rules,
    load_unit_powers,
)
from .levels import HEAD, SEAT_LEVEL, Authority, Level, Role, RouteStep, Seat, levels_on
from .rules import movement_awards_count_for_merit

__all__ = [
    "AuthorityMatrix",
    "AwardForm",
    "Proposer",
    "load_authority_matrix",
    "movement_awards_count_for_merit",
]

DATA_PACKAGE = "services.awards"
MATRIX_FILE = "authority_matrix.csv"
TIERS = (Level.COMMUNE, Level.DISTRICT, Level.PROVINCE, Level.CENTRAL)
SIGNER = {
    Level.COMMUNE: Authority.CHU_TICH_UBND_XA,
    Level.DISTRICT: Authority.CHU_TICH_UBND_HUYEN,
    Level.PROVINCE: Authority.CHU_TICH_UBND_TINH,
    Level.CENTRAL: Authority.BO_TRUONG,
}
"""Who signs a proposal an administrative level makes itself (Law Art. 83: the chair submits upward)."""


@dataclass(frozen=True)
class Proposer:
    """Who proposes, as the matrix needs to know it: its shape, never its path.

    ``hat`` is the deciding power its head holds (``unit_powers.csv``, Law Art. 80): THU_TRUONG_DON_VI (an
    enterprise, a co-op, a legal-entity unit under a ministry), GIAM_DOC_SO (a sở itself), or None (a school, a trạm
    y tế, a phòng: its head proposes, its manager decides). ``self_nominated``: the nominee is the proposer itself
    as a collective, so its own head cannot decide (nobody confers a title on the unit they head).
    """

    level: Level
    unit_parent: Level = Level.COMMUNE
    hat: Authority | None = None
    under_so: bool = False
    self_nominated: bool = False

    @property
    def signer(self) -> Authority:
        """Who signs the proposal: the unit's head (as Giám đốc sở for a sở), or the level's chair."""
        if self.level is Level.UNIT:
            return self.hat if self.hat is Authority.GIAM_DOC_SO else Authority.THU_TRUONG_DON_VI
        return SIGNER[self.level]

    @property
    def own_level(self) -> Level:
        """The tier the proposer's own office is shown at (a sở is at province level)."""
        return Level.PROVINCE if self.hat is Authority.GIAM_DOC_SO else self.level


@dataclass(frozen=True)
class AuthorityMatrix:
    """All versions of all award forms, with date-aware lookups and proposal routing, and the other rule tables."""

    forms: tuple[AwardForm, ...]
    occasions: OccasionRules = field(default_factory=load_occasion_rules)
    powers: UnitPowers = field(default_factory=load_unit_powers)
    allowances: AllowanceCodes = field(default_factory=load_allowance_codes)

    def codes(self, on: date) -> list[str]:
        """Codes of the forms in force on ``on``, sorted."""
        return sorted({f.form_code for f in self.forms if f.in_force_on(on)})

    def versions(self, code: str) -> list[AwardForm]:
        """Every version of ``code``, oldest first."""
        return sorted((f for f in self.forms if f.form_code == code), key=lambda f: f.effective_from)

    def form(self, code: str, on: date) -> AwardForm:
        """The version of ``code`` in force on ``on``; raises UnknownAwardForm."""
        for f in self.forms:
            if f.form_code == code and f.in_force_on(on):
                return f
        raise UnknownAwardForm(code, on)

    def decider(self, code: str, on: date, proposer: Proposer | Level | None = None) -> tuple[Level, Authority]:
        """The primary decider, or the one competent for a proposal from ``proposer``."""
        if proposer is None:
            f = self.form(code, on)
            return f.decider_level, f.decider_authority
        last = self.route(code, proposer, on)[-1]
        return last.level, last.authority

    def route(
        self, code: str, proposer: Proposer | Level, on: date, *, unit_parent: Level = Level.COMMUNE
    ) -> list[RouteStep]:
        """Steps from the proposer up to the decider; nobody acts twice. ``unit_parent`` (with a bare Level): the
        tier a UNIT sits in; such a UNIT has no deciding power of its own."""
        who = proposer if isinstance(proposer, Proposer) else Proposer(Level(proposer), Level(unit_parent))
        f = self.form(code, on)
        seats = _seats(f, who, on)
        at, decider = _competent_decider(f, who, seats)
        steps = _steps(f, who, seats, at, decider)
        persons = [s.person for s in steps]
        if len(set(persons)) != len(persons):  # by construction never: a route that makes anyone act twice is a bug
            raise AssertionError(f"route of {code} makes one person act twice: {[str(s) for s in steps]}")
        return steps


def _seats(form: AwardForm, who: Proposer, on: date) -> list[Seat]:
    """The proposer's own office, the sở managing it (if any), then every tier above it that exists on ``on``."""
    levels = levels_on(on)
    if who.level is Level.UNIT and who.unit_parent is Level.UNIT:
        raise ValueError("unit_parent must be above UNIT")
    for level in (who.level, who.unit_parent) if who.level is Level.UNIT else (who.level,):
        if level not in levels:
            raise AuthorityMismatch(
                form.form_code,
                who.level,
                f"{level.label_vi} không tồn tại vào ngày {on:%d/%m/%Y}",
                f"level {level} does not exist on {on.isoformat()}",
            )
    floor = who.unit_parent.rank if who.level is Level.UNIT else who.level.rank + 1
    below = [Seat.SO] if who.level is Level.UNIT and who.under_so and who.hat is not Authority.GIAM_DOC_SO else []
    return [Seat.OWN, *below, *(Seat(t) for t in TIERS if t in levels and t.rank >= floor)]


def _hats(who: Proposer, seat: Seat) -> tuple[Authority, ...]:
    """Who may decide at ``seat`` for this proposer (Law Art. 77–80; the OWN seat per ``unit_powers.csv``)."""
    if seat is Seat.OWN:
        if who.level is Level.UNIT:
            return (who.hat,) if who.hat is not None else ()
        return _hats(who, Seat(who.level))
    if seat is Seat.CENTRAL:
        ministry = (Authority.BO_TRUONG,) if who.level is Level.CENTRAL or who.unit_parent is Level.CENTRAL else ()
        return (Authority.THU_TUONG, Authority.CHU_TICH_NUOC, *ministry)
    return (HEAD[seat],)


def _competent_decider(form: AwardForm, who: Proposer, seats: list[Seat]) -> tuple[Seat, Authority]:
    """The lowest seat holding one of the form's deciders (never the nominee's own head); raises AuthorityMismatch."""
    for seat in seats:
        if seat is Seat.OWN and who.self_nominated:
            continue
        found = [a for a in form.deciders if a in _hats(who, seat)]
        if found:
            return seat, found[0]
    primary = form.decider_authority
    own = " (không tự tặng cho chính tập thể mình)" if who.self_nominated else ""
    raise AuthorityMismatch(
        form.form_code,
        who.level,
        f"người quyết định là {primary.label_vi} ({primary.level.label_vi}), không có thẩm quyền đối với "
        f"đơn vị đề nghị và các cấp quản lý nó{own}",
        f"the decider {primary} ({primary.level}) has no authority over the proposer or the levels managing it"
        + (" (a unit never confers a title on itself)" if own else ""),
    )


def _level(who: Proposer, seat: Seat) -> Level:
    return who.own_level if seat is Seat.OWN else SEAT_LEVEL[seat]


def _tier(who: Proposer, seat: Seat) -> Level | None:
    """The administrative tier a seat is (its listed submitter trình there); None for a unit or a sở."""
    if seat is Seat.OWN:
        return None if who.level is Level.UNIT else who.level
    return None if seat is Seat.SO else SEAT_LEVEL[seat]


def _steps(form: AwardForm, who: Proposer, seats: list[Seat], at: Seat, decider: Authority) -> list[RouteStep]:
    """PROPOSE (by the emulation council where its own head decides), REVIEW at every seat passed, DECIDE."""
    signer = Authority.HOI_DONG_TDKT if (at, decider) == (Seat.OWN, who.signer) else who.signer
    steps = [RouteStep(who.own_level, Role.PROPOSE, signer, Seat.OWN)]
    for seat in seats[: seats.index(at) + 1]:
        tier = _tier(who, seat)
        submitter = form.submitter_at(tier) if tier is not None else None
        reviewers = [] if seat in (at, Seat.OWN) else [HEAD[seat]]
        for reviewer in (*reviewers, *([submitter] if submitter else [])):
            if reviewer != decider and (seat, reviewer) not in [s.person for s in steps]:
                steps.append(RouteStep(_level(who, seat), Role.REVIEW, reviewer, seat))
    steps.append(RouteStep(_level(who, at), Role.DECIDE, decider, at))
    return steps


@cache
def load_authority_matrix() -> AuthorityMatrix:
    """The packaged authority matrix and rule tables (read once, then cached)."""
    text = resources.files(DATA_PACKAGE).joinpath(MATRIX_FILE).read_text(encoding="utf-8")
    return AuthorityMatrix(parse_authority_matrix_csv(text))
