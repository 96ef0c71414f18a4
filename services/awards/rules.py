"""Configurable award rules (quy tắc khen thưởng) whose legal text is unsettled: ``award_rules.csv``."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from .errors import UnknownAwardRule
from .forms import Verification, check_versions_disjoint

DATA_PACKAGE = "services.awards"
RULES_FILE = "award_rules.csv"

MOVEMENT_AWARDS_COUNT_FOR_MERIT = "MOVEMENT_AWARDS_COUNT_FOR_MERIT"
LOWER_FORM_REQUIRED_FIRST = "LOWER_FORM_REQUIRED_FIRST"


@dataclass(frozen=True)
class AwardRule:
    """One version of a rule: its value, legal basis and verification tag."""

    rule_code: str
    value: str
    legal_basis: str
    verification: Verification
    effective_from: date
    effective_to: date | None  # exclusive
    note: str = ""

    def in_force_on(self, day: date) -> bool:
        """Whether ``day`` falls in ``[effective_from, effective_to)``."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True)
class AwardRules:
    """All versions of all configured rules."""

    rules: tuple[AwardRule, ...]

    def rule(self, rule_code: str, on: date) -> AwardRule:
        """The version of ``rule_code`` in force on ``on``; raises UnknownAwardRule."""
        for rule in self.rules:
            if rule.rule_code == rule_code and rule.in_force_on(on):
                return rule
        raise UnknownAwardRule(rule_code, on)

    def flag(self, rule_code: str, on: date) -> bool:
        """A true/false rule's value on ``on``."""
        value = self.rule(rule_code, on).value.strip().lower()
        if value not in ("true", "false"):
            raise ValueError(f"award rule {rule_code} is not true/false: {value!r}")
        return value == "true"


def parse_award_rules_csv(text: str) -> AwardRules:
    """Parse the rules CSV; every row needs a legal basis and NFC text."""
    rules = []
    for row in csv.DictReader(io.StringIO(text)):
        rule = AwardRule(
            rule_code=row["rule_code"],
            value=row["value"],
            legal_basis=row["legal_basis"].strip(),
            verification=Verification(row["verification"]),
            effective_from=date.fromisoformat(row["effective_from"]),
            effective_to=date.fromisoformat(row["effective_to"]) if row["effective_to"] else None,
            note=row["note"],
        )
        if not rule.legal_basis or not unicodedata.is_normalized("NFC", rule.legal_basis + rule.note):
            raise ValueError(f"award rule {rule.rule_code}: missing legal basis or text not NFC")
        rules.append(rule)
    check_versions_disjoint([(r.rule_code, r.effective_from, r.effective_to) for r in rules])
    return AwardRules(tuple(rules))


@cache
def load_award_rules() -> AwardRules:
    """The packaged rules table (read once, then cached)."""
    return parse_award_rules_csv(resources.files(DATA_PACKAGE).joinpath(RULES_FILE).read_text(encoding="utf-8"))


def movement_awards_count_for_merit(on: date) -> bool:
    """Whether đột xuất / chuyên đề awards may ground a công-trạng proposal (NĐ 98/2023 Art. 4; 152/2025 [U])."""
    return load_award_rules().flag(MOVEMENT_AWARDS_COUNT_FOR_MERIT, on)
