"""Reading a /metrics answer in tests the way Prometheus does (prometheus_client's own parser): label order in the
text is the library's business, so samples are matched by name and labels, never by the line's spelling."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """The samples of one exposition."""

    def __init__(self, text: str) -> None:
        self.samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def values(self, name: str, **labels: str) -> list[float]:
        """The values of the samples named ``name`` whose labels include ``labels``."""
        return [s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items()]

    def value(self, name: str, **labels: str) -> float:
        """The one sample named ``name`` with exactly ``labels``."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) == 1, (name, labels, found)
        return found[0]
