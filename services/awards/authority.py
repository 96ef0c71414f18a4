"""Versioned award-authority matrix (ma trận thẩm quyền khen thưởng): who decides a form, and the route to them.

Data: ``authority_matrix.csv`` (one row per form and version, half-open ``[effective_from, effective_to)``),
read once through ``importlib.resources``. Rules and the reasons behind them: ``README.md`` in this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from .errors import AuthorityMismatch, UnknownAwardForm
from .forms import AwardForm, parse_authority_matrix_csv
from .levels import MANAGER, PASS_THROUGH, Authority, Level, Role, RouteStep, levels_on
from .rules import movement_awards_count_for_merit

__all__ = ["AuthorityMatrix", "AwardForm", "load_authority_matrix", "movement_awards_count_for_merit"]

DATA_PACKAGE = "services.awards"
MATRIX_FILE = "authority_matrix.csv"


@dataclass(frozen=True)
class AuthorityMatrix:
    """All versions of all award forms, with date-aware lookups and proposal routing."""

    forms: tuple[AwardForm, ...]

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

    def decider(self, code: str, on: date, proposer_level: Level | None = None) -> tuple[Level, Authority]:
        """The primary decider, or the one competent for a proposal from ``proposer_level``."""
        if proposer_level is None:
            f = self.form(code, on)
            return f.decider_level, f.decider_authority
        last = self.route(code, proposer_level, on)[-1]
        return last.level, last.authority

    def route(
        self, code: str, proposer_level: Level, on: date, *, unit_parent: Level = Level.COMMUNE
    ) -> list[RouteStep]:
        """Steps from the proposer up to the decider; ``unit_parent`` is the level a UNIT sits under."""
        f = self.form(code, on)
        path = _path(f, Level(proposer_level), on, Level(unit_parent))
        decider = _competent_decider(f, path)
        steps = [RouteStep(path[0], Role.PROPOSE, MANAGER[path[0]])]
        for i, level in enumerate(path[: path.index(decider.level) + 1]):
            for who in _reviewers(f, path, i, decider):
                if who not in (steps[-1].authority, decider):
                    steps.append(RouteStep(level, Role.REVIEW, who))
        steps.append(RouteStep(decider.level, Role.DECIDE, decider))
        return steps


def _path(form: AwardForm, proposer: Level, on: date, unit_parent: Level) -> list[Level]:
    """The proposer's level, then every level above it that the proposal can pass on ``on``."""
    levels = levels_on(on)
    if proposer is Level.UNIT and unit_parent is Level.UNIT:
        raise ValueError("unit_parent must be above UNIT")
    for level in (proposer, unit_parent) if proposer is Level.UNIT else (proposer,):
        if level not in levels:
            raise AuthorityMismatch(
                form.form_code,
                proposer,
                f"{level.label_vi} không tồn tại vào ngày {on:%d/%m/%Y}",
                f"level {level} does not exist on {on.isoformat()}",
            )
    floor = unit_parent.rank if proposer is Level.UNIT else proposer.rank + 1
    return [proposer, *(level for level in levels if level.rank >= floor)]


def _competent_decider(form: AwardForm, path: list[Level]) -> Authority:
    """The lowest of the form's deciders that sits on ``path``; raises AuthorityMismatch."""
    on_path = [a for a in form.deciders if a.level in path]
    if not on_path:
        who = form.decider_authority
        raise AuthorityMismatch(
            form.form_code,
            path[0],
            f"người quyết định là {who.label_vi} ({who.level.label_vi}), không ở cấp đề nghị hoặc cấp trên của nó",
            f"the decider {who} ({who.level}) is neither at nor above the proposer's level",
        )
    return min(on_path, key=lambda a: a.level.rank)


def _reviewers(form: AwardForm, path: list[Level], i: int, decider: Authority) -> list[Authority]:
    """Who reviews and submits at ``path[i]``: the unit's manager, a pass-through head, the listed submitter."""
    level, submitter = path[i], form.submitter_at(path[i])
    who = []
    if i == 1 and path[0] is Level.UNIT:
        who.append(MANAGER[level])
    elif i > 0 and level is not decider.level and submitter is None:
        who.append(PASS_THROUGH[level])
    if submitter is not None:
        who.append(submitter)
    return who


@cache
def load_authority_matrix() -> AuthorityMatrix:
    """The packaged authority matrix (read once, then cached)."""
    text = resources.files(DATA_PACKAGE).joinpath(MATRIX_FILE).read_text(encoding="utf-8")
    return AuthorityMatrix(parse_authority_matrix_csv(text))
