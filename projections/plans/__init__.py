"""Plans read model: each plan's document, issuer, status, phases, duties, award forms, criteria and parents."""

from services.domain.deps import Deps

from .projection import PlansProjection


def make_projection(deps: Deps) -> PlansProjection:
    """The read model (it needs no reference data)."""
    return PlansProjection()


__all__ = ["PlansProjection", "make_projection"]
