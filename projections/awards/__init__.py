"""Award pipeline and registry read model: every proposal's route, holder and state; conferred awards."""

from services.domain.deps import Deps

from .projection import AwardsProjection


def make_projection(deps: Deps) -> AwardsProjection:
    """The read model (it needs no reference data)."""
    return AwardsProjection()


__all__ = ["AwardsProjection", "make_projection"]
