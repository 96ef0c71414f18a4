"""Awards bounded context (khen thưởng): the versioned award-authority matrix and the award rule tables."""

from .authority import AuthorityMatrix, Proposer, load_authority_matrix
from .errors import AuthorityMismatch, UnknownAwardForm, UnknownAwardRule
from .forms import AwardForm, AwardKind, AwardType, Subject, Verification
from .levels import Authority, Level, Role, RouteStep, Seat
from .rules import load_award_rules, movement_awards_count_for_merit

__all__ = [
    "Authority",
    "AuthorityMatrix",
    "AuthorityMismatch",
    "AwardForm",
    "AwardKind",
    "AwardType",
    "Level",
    "Proposer",
    "Role",
    "RouteStep",
    "Seat",
    "Subject",
    "UnknownAwardForm",
    "UnknownAwardRule",
    "Verification",
    "load_authority_matrix",
    "load_award_rules",
    "movement_awards_count_for_merit",
]
