"""The award rules as data: every table is a CSV of this package whose rows cite their legal basis and carry the
REFERENCE tag (V verified, P partly verified, U unverified: configuration, not law, and the note says why).

| file | rows | read by |
|---|---|---|
| ``authority_matrix.csv`` | form × decider × submitters (who may confer what) | ``authority.py`` |
| ``award_occasions.csv`` | form × the occasions it may be proposed at | ``OccasionRules`` |
| ``occasions.csv`` | occasion × award type (loại hình, Law Art. 8) | ``OccasionRules`` |
| ``unit_powers.csv`` | unit kind × where it sits → the deciding hat its head wears (Art. 80) | ``UnitPowers`` |
| ``allowance_codes.csv`` | a plan's wording naming no single form → the forms it means | ``AllowanceCodes`` |
| ``prerequisites.csv`` | form × subject → the earlier awards it needs | ``prerequisites.py`` |
| ``award_rules.csv`` | flags whose legal text is unsettled | ``rules.py`` |
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from .forms import AwardType, Verification, check_versions_disjoint
from .levels import Authority

DATA_PACKAGE = "services.awards"


@dataclass(frozen=True)
class Basis:
    """Why a row holds: the legal text, how far it was checked, and what is left open."""

    legal_basis: str
    verification: Verification
    note: str

    def cite(self) -> str:
        """The basis with its tag, e.g. "Luật TĐKT 06/2022/QH15 Điều 25 [V]"."""
        return f"{self.legal_basis} [{self.verification}]"


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of a packaged table; every row needs a legal basis, a V/P/U tag, NFC text, and a note when unverified."""
    text = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return parse_table(name, text)


def parse_table(name: str, text: str) -> list[dict[str, str]]:
    """``read_table`` on given text (for tests of the checks)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for i, row in enumerate(rows, start=2):
        where = f"{name} line {i}"
        if None in row or None in row.values():
            raise ValueError(f"{where}: wrong number of fields (quote a text holding commas)")
        if not unicodedata.is_normalized("NFC", "".join(v or "" for v in row.values())):
            raise ValueError(f"{where}: text is not NFC")
        if not (row.get("legal_basis") or "").strip():
            raise ValueError(f"{where}: no legal basis")
        if row.get("verification") not in ("V", "P", "U"):
            raise ValueError(f"{where}: verification must be V, P or U")
        if row["verification"] == "U" and "[U]" not in (row.get("note") or ""):
            raise ValueError(f"{where}: an unverified row must say in its note what is unverified ([U])")
    return rows


def basis(row: dict[str, str]) -> Basis:
    """The basis of a row."""
    return Basis(row["legal_basis"].strip(), Verification(row["verification"]), row.get("note") or "")


def _days(row: dict[str, str]) -> tuple[date, date | None]:
    return date.fromisoformat(row["effective_from"]), (
        date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
    )


def _in_force(row: tuple[date, date | None], on: date) -> bool:
    return row[0] <= on and (row[1] is None or on < row[1])


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(";") if item.strip())


@dataclass(frozen=True)
class OccasionRule:
    """Which occasions a form may be proposed at (award_occasions.csv), in force on ``[start, end)``."""

    form_code: str
    occasions: tuple[str, ...]
    start: date
    end: date | None
    basis: Basis


@dataclass(frozen=True)
class OccasionRules:
    """The award type of each occasion (Law Art. 8) and the occasions of each form."""

    award_types: tuple[tuple[str, AwardType, Basis], ...]
    forms: tuple[OccasionRule, ...]

    def award_type(self, occasion: str) -> AwardType:
        """MERIT (thường xuyên), MOVEMENT (theo đợt, chuyên đề) or AD_HOC (đột xuất); KeyError when unknown."""
        return next(kind for code, kind, _ in self.award_types if code == occasion)

    def occasion_basis(self, occasion: str) -> Basis:
        """The legal basis of an occasion's award type."""
        return next(b for code, _, b in self.award_types if code == occasion)

    def rule(self, form_code: str, on: date) -> OccasionRule | None:
        """The row of ``form_code`` in force on ``on`` (None: not listed, so no occasion is allowed)."""
        return next((r for r in self.forms if r.form_code == form_code and _in_force((r.start, r.end), on)), None)

    def allows(self, form_code: str, occasion: str, on: date) -> bool:
        """Whether the law lets ``form_code`` be proposed at ``occasion``."""
        rule = self.rule(form_code, on)
        return rule is not None and occasion in rule.occasions


@dataclass(frozen=True)
class UnitPower:
    """The deciding hat the head of a unit of ``unit_kind`` wears where it sits (Law Art. 80)."""

    unit_kind: str
    placement: str  # PROVINCE (directly under a province), SO (inside a sở), COMMUNE, CENTRAL, or ANY
    hat: Authority | None
    start: date
    end: date | None
    basis: Basis


PLACEMENTS = ("PROVINCE", "SO", "COMMUNE", "CENTRAL", "OTHER")


@dataclass(frozen=True)
class UnitPowers:
    """unit_powers.csv: a row for a placement wins over an ``ANY`` row; a combination not listed has no power."""

    rows: tuple[UnitPower, ...]

    def power(self, unit_kind: str, placement: str, on: date) -> UnitPower | None:
        """The row that governs a unit of ``unit_kind`` placed at ``placement`` on ``on``."""
        found = [r for r in self.rows if r.unit_kind == unit_kind and _in_force((r.start, r.end), on)]
        return next((r for r in found if r.placement == placement), None) or next(
            (r for r in found if r.placement == "ANY"), None
        )

    def hat(self, unit_kind: str, placement: str, on: date) -> Authority | None:
        """The hat of the unit's head as a decider, or None: it only proposes (its manager decides)."""
        row = self.power(unit_kind, placement, on)
        return row.hat if row is not None else None


@dataclass(frozen=True)
class AllowanceCode:
    """A plan's wording that names no single form ("Giấy khen", "theo thẩm quyền", "cấp trên", HCLĐ)."""

    code: str
    label_vi: str
    members: tuple[str, ...]
    levels: str  # ANY, ISSUER_OR_BELOW (decided at or below the plan issuer's level), ABOVE_ISSUER
    basis: Basis


@dataclass(frozen=True)
class AllowanceCodes:
    """allowance_codes.csv by code."""

    codes: tuple[AllowanceCode, ...]

    def get(self, code: str) -> AllowanceCode | None:
        """The pseudo code, or None for a plain form code."""
        return next((c for c in self.codes if c.code == code), None)

    def names(self) -> tuple[str, ...]:
        """Every pseudo code."""
        return tuple(c.code for c in self.codes)


@cache
def load_occasion_rules() -> OccasionRules:
    """occasions.csv and award_occasions.csv (read once)."""
    types = tuple((r["occasion"], AwardType(r["award_type"]), basis(r)) for r in read_table("occasions.csv"))
    forms = []
    for row in read_table("award_occasions.csv"):
        start, end = _days(row)
        forms.append(OccasionRule(row["form_code"], _split(row["occasions"]), start, end, basis(row)))
    known = {code for code, _, _ in types}
    for rule in forms:
        if not set(rule.occasions) <= known:
            raise ValueError(f"award_occasions.csv {rule.form_code}: unknown occasion in {rule.occasions}")
    check_versions_disjoint([(r.form_code, r.start, r.end) for r in forms])
    return OccasionRules(types, tuple(forms))


@cache
def load_unit_powers() -> UnitPowers:
    """unit_powers.csv (read once)."""
    rows = []
    for row in read_table("unit_powers.csv"):
        start, end = _days(row)
        if row["placement"] not in (*PLACEMENTS, "ANY"):
            raise ValueError(f"unit_powers.csv: unknown placement {row['placement']}")
        hat = Authority(row["hat"]) if row["hat"] else None
        rows.append(UnitPower(row["unit_kind"], row["placement"], hat, start, end, basis(row)))
    check_versions_disjoint([(f"{r.unit_kind}@{r.placement}", r.start, r.end) for r in rows])
    return UnitPowers(tuple(rows))


@cache
def load_allowance_codes() -> AllowanceCodes:
    """allowance_codes.csv (read once)."""
    codes = []
    for row in read_table("allowance_codes.csv"):
        if row["levels"] not in ("ANY", "ISSUER_OR_BELOW", "ABOVE_ISSUER"):
            raise ValueError(f"allowance_codes.csv {row['code']}: unknown levels rule {row['levels']}")
        codes.append(AllowanceCode(row["code"], row["label_vi"], _split(row["members"]), row["levels"], basis(row)))
    return AllowanceCodes(tuple(codes))
