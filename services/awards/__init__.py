"""Awards bounded context (khen thưởng): the versioned award-authority matrix and configurable award rules."""

from .authority import AuthorityMatrix, load_authority_matrix
from .errors import AuthorityMismatch, UnknownAwardForm, UnknownAwardRule
from .forms import AwardForm, AwardKind, Subject, Track, Verification
from .levels import Authority, Level, Role, RouteStep
from .rules import load_award_rules, movement_awards_count_for_merit

__all__ = [
    "Authority",
    "AuthorityMatrix",
    "AuthorityMismatch",
    "AwardForm",
    "AwardKind",
    "Level",
    "Role",
    "RouteStep",
    "Subject",
    "Track",
    "UnknownAwardForm",
    "UnknownAwardRule",
    "Verification",
    "load_authority_matrix",
    "load_award_rules",
    "movement_awards_count_for_merit",
]
