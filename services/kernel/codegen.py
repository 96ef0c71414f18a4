"""Generates ``contracts.py`` from ``schemas/``: never hand-written.

For every named Avro type it emits a type mypy checks, at no run-time cost:

- an enum becomes a ``Literal`` union of its symbols;
- a record becomes a ``TypedDict``; a ``["null", X]`` field is ``X | None`` (the codec reads null as ``None``), a
  field with a default is ``NotRequired`` (the codec's writer fills the default, so a handler may leave it out;
  the reader always fills it, so reading it by key is safe);
- an event (namespace ``vn.thidua.events``) also gets its payload type ``<Name>Data`` (every field but ``meta``)
  and its ``Event`` class, whose ``data`` is that payload and ``meta`` the ``EventMetadata`` record.

Logical types map to what fastavro reads: ``timestamp-micros`` → ``datetime``, ``date`` → ``date``.
"""

from __future__ import annotations

import keyword
import textwrap
from typing import Any

from .schemas import EVENT_NAMESPACE, SchemaCatalog

HEADER = '''"""Types of the Avro contracts, generated from ``schemas/*.avsc`` (``thidua schemas codegen``). Do not edit.

Enums are ``Literal`` unions, records ``TypedDict``s, and every event has its payload type ``<Name>Data`` and its
``Event`` class (``data`` typed by the payload); see ``services/kernel/codegen.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, NotRequired, TypedDict

from .events import Event
'''

PRIMITIVES = {
    "string": "str",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "boolean": "bool",
    "bytes": "bytes",
    "null": "None",
}
LOGICAL = {"timestamp-micros": "datetime", "timestamp-millis": "datetime", "date": "date"}


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def named_types(catalog: SchemaCatalog) -> dict[str, dict[str, Any]]:
    """Every named type (record, enum, fixed) reachable from the current schemas, by short name."""
    found: dict[str, dict[str, Any]] = {}

    def walk(schema: Any) -> None:
        if isinstance(schema, list):
            for branch in schema:
                walk(branch)
        elif isinstance(schema, dict):
            kind = schema["type"]
            if kind in ("record", "enum", "fixed"):
                name = _short(schema["name"])
                if name in found:
                    return
                found[name] = schema
                for field in schema.get("fields", ()):
                    walk(field["type"])
            elif kind == "array":
                walk(schema["items"])
            elif kind == "map":
                walk(schema["values"])
            else:
                walk(kind)

    for version in catalog:
        walk(version.schema)
    return found


def _annotation(schema: Any) -> str:
    """The Python type of an Avro type, as the codec reads it."""
    if isinstance(schema, str):
        return PRIMITIVES.get(schema) or _short(schema)
    if isinstance(schema, list):
        branches = [_annotation(b) for b in schema if b != "null"]
        return " | ".join(branches + (["None"] if "null" in schema else []))
    if (logical := schema.get("logicalType")) in LOGICAL:
        return LOGICAL[logical]
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        return _short(schema["name"]) if kind != "fixed" else "bytes"
    if kind == "array":
        return f"list[{_annotation(schema['items'])}]"
    if kind == "map":
        return f"dict[str, {_annotation(schema['values'])}]"
    return _annotation(kind)


def _doc(text: str, indent: str = "    ") -> str:
    lines = textwrap.wrap(text.replace('"""', "'''"), 110)
    return lines[0] if len(lines) == 1 else f"\n{indent}".join(lines) + f"\n{indent}"


def _typed_dict(name: str, doc: str, fields: list[dict[str, Any]]) -> str:
    def typed(field: dict[str, Any]) -> str:
        annotation = _annotation(field["type"])
        return f"NotRequired[{annotation}]" if "default" in field else annotation

    if any(keyword.iskeyword(f["name"]) for f in fields):  # not a valid class-syntax field: functional syntax
        items = "".join(f'    "{f["name"]}": {typed(f)},\n' for f in fields)
        return f'\n\n{name} = TypedDict(\n    "{name}",\n    {{\n{items}    }},\n)\n"""{_doc(doc, "")}"""\n'
    body = "".join(f"    {f['name']}: {typed(f)}\n" for f in fields)
    return f'\n\nclass {name}(TypedDict):\n    """{_doc(doc)}"""\n\n{body}'


def render_contracts(catalog: SchemaCatalog) -> str:
    """Python source of the contract types, enums first, then records, then events, each in name order."""
    named = named_types(catalog)
    parts = [HEADER]
    for name, schema in sorted(named.items()):
        if schema["type"] == "enum":
            symbols = ", ".join(f'"{s}"' for s in schema["symbols"])
            parts.append(f'\n{name} = Literal[{symbols}]\n"""{_doc(str(schema.get("doc", name)), "")}"""\n')
    for name, schema in sorted(named.items()):
        if schema["type"] == "record" and not schema["name"].startswith(EVENT_NAMESPACE + "."):
            parts.append(_typed_dict(name, str(schema.get("doc", name)), schema["fields"]))
    events = sorted(catalog.events(), key=lambda v: v.name)
    for version in events:
        doc = str(version.schema.get("doc", version.name))
        fields = [f for f in version.schema["fields"] if f["name"] != "meta"]
        parts.append(
            _typed_dict(f"{version.name}Data", f"The payload of {version.name} (every field but meta).", fields)
        )
        parts.append(
            f'\n\nclass {version.name}(Event):\n    """{_doc(doc)}"""\n\n    NAME = "{version.name}"\n'
            f"    data: {version.name}Data\n"
        )
    names = "".join(f"        {v.name},\n" for v in events)
    parts.append(f"\n\nEVENT_TYPES: dict[str, type[Event]] = {{\n    c.NAME: c\n    for c in (\n{names}    )\n}}\n")
    return "".join(parts)
