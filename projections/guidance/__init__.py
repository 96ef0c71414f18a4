"""Guidance read model (hướng dẫn xuống cấp dưới): what each org unit must do, by when, what it may propose."""

from services.domain.deps import Deps

from .projection import GuidanceProjection


def make_projection(deps: Deps) -> GuidanceProjection:
    """The read model (it needs no reference data at apply time)."""
    return GuidanceProjection()


__all__ = ["GuidanceProjection", "make_projection"]
