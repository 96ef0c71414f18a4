"""Generates ``contracts.py`` (one Event class per Avro event type) from ``schemas/``; never hand-written."""

from __future__ import annotations

import textwrap

from .schemas import SchemaCatalog

HEADER = '''"""Event classes generated from ``schemas/*.avsc`` by ``thidua schemas codegen``. Do not edit."""

from __future__ import annotations

from .events import Event
'''


def render_contracts(catalog: SchemaCatalog) -> str:
    """Python source of the event classes, in schema-name order."""
    events = sorted(catalog.events(), key=lambda v: v.name)
    parts = [HEADER]
    for version in events:
        doc = str(version.schema.get("doc", version.name)).replace('"""', "'''")
        lines = textwrap.wrap(doc, 110)
        body = lines[0] if len(lines) == 1 else "\n    ".join(lines) + "\n    "
        parts.append(f'\n\nclass {version.name}(Event):\n    """{body}"""\n\n    NAME = "{version.name}"\n')
    names = "".join(f"        {v.name},\n" for v in events)
    parts.append(f"\n\nEVENT_TYPES: dict[str, type[Event]] = {{\n    c.NAME: c\n    for c in (\n{names}    )\n}}\n")
    return "".join(parts)
