"""The codec's compiled writers: each schema becomes one generated Python function that writes Avro binary.

fastavro interprets the schema for every datum (~20 µs for an event); a function generated once per schema
writes the same bytes in a third of that, which is most of the store's bulk-append cost. The generated code
follows fastavro's writer rule for rule (field defaults, ``float()`` on double fields, the ``null`` branch of an
optional union for ``None``, fastavro's own logical-type conversions), and a contract test compares the two on
random data for every schema version. Schemas with anything else (a union that is not ``[null, T]``, bytes,
fixed, a recursive type) get no compiled writer: ``compile_writer`` returns None and the codec uses fastavro.
"""

from __future__ import annotations

import array
import numbers
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastavro.logical_writers import LOGICAL_WRITERS

Writer = Callable[[Any], bytes]  # datum -> prefix + Avro binary

_BYTE = [bytes([n]) for n in range(128)]
_SMALL = [_BYTE[n << 1] for n in range(64)]  # zigzag varint of 0..63: one byte
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "string"}
_VALID = {  # fastavro's validators (fastavro/_validation_py.py) where they refuse what its writers accept
    "int": "isinstance({v}, _Integral) and not isinstance({v}, bool) and -2147483648 <= {v} <= 2147483647",
    "long": "isinstance({v}, _Integral) and not isinstance({v}, bool) and -(2**63) <= {v} < 2**63",
    "float": "isinstance({v}, _Real) and not isinstance({v}, bool)",
    "double": "isinstance({v}, _Real) and not isinstance({v}, bool)",
    "boolean": "isinstance({v}, bool)",
    "string": "isinstance({v}, str)",
    "array": "isinstance({v}, (_Sequence, _array)) and not isinstance({v}, str)",
    "map": "isinstance({v}, _Mapping) and all(isinstance(k, str) for k in {v})",
    "record": "isinstance({v}, _Mapping)",
}


_CHECKS = {
    "_Integral": numbers.Integral,
    "_Real": numbers.Real,
    "_Sequence": Sequence,
    "_array": array.array,
    "_Mapping": Mapping,
}


class Unsupported(Exception):
    """A schema feature the compiler leaves to fastavro."""


def write_long(value: Any) -> bytes:
    """Zigzag varint of a 64-bit signed integer (Avro ``int`` and ``long``); like fastavro's writer, a float is
    truncated and a string refused."""
    n: int = value if value.__class__ is int else value.__int__()
    if 0 <= n < 64:
        return _SMALL[n]
    z = (n << 1) ^ (n >> 63)
    if z < 0 or z >> 64:
        raise OverflowError(f"{n} does not fit in an Avro long")
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def compile_writer(schema: Any, prefix: bytes = b"") -> Writer | None:
    """A writer for ``schema`` (plain Avro JSON, named types defined before use) whose output starts with
    ``prefix`` (e.g. the single-object header), or None when the schema is unsupported."""
    source = _Source()
    try:
        source.write(schema, "datum", 1, schema.get("namespace", "") if isinstance(schema, dict) else "")
    except Unsupported:
        return None
    code = "def write(datum):\n    out = bytearray(_prefix)\n" + "\n".join(source.lines)
    scope: dict[str, Any] = {"_long": write_long, "_small": _SMALL, "_prefix": prefix, **_CHECKS, **source.constants}
    exec(code + "\n    return bytes(out)\n", scope)  # noqa: S102 - the code is generated from the schema above
    writer: Writer = scope["write"]
    return writer


class _Source:
    """The lines of a generated writer, with the constants they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.named: dict[str, Any] = {}
        self.open: set[str] = set()  # named types being compiled (a reference to one of them is recursion)
        self.strict = False  # writing the value of a union's branch
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, value: Any) -> str:
        name = self.name("_c")
        self.constants[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def write(self, schema: Any, expr: str, indent: int, namespace: str) -> None:
        """Lines that write ``expr`` (a local name) as ``schema``."""
        if isinstance(schema, list):
            self.union(schema, expr, indent, namespace)
        elif isinstance(schema, str):
            self.reference(schema, expr, indent, namespace)
        elif not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        elif (logical := f"{schema.get('type')}-{schema.get('logicalType')}") in LOGICAL_WRITERS:
            if schema["type"] not in _PRIMITIVES:
                raise Unsupported(logical)  # decimal on bytes or fixed
            value = self.name("v")
            self.emit(indent, f"{value} = {self.constant(LOGICAL_WRITERS[logical])}({expr}, {self.constant(schema)})")
            self.primitive(schema["type"], value, indent)
        elif schema.get("type") in ("record", "error"):
            self.record(schema, expr, indent, namespace)
        elif schema.get("type") == "enum":
            self.define(schema, namespace)
            symbols = {symbol: write_long(i) for i, symbol in enumerate(schema["symbols"])}
            self.emit(indent, f"out += {self.constant(symbols)}[{expr}]")
        elif schema.get("type") == "array":
            self.array(schema["items"], expr, indent, namespace)
        elif schema.get("type") == "map":
            self.map(schema["values"], expr, indent, namespace)
        else:
            self.write(schema.get("type"), expr, indent, namespace)

    def reference(self, name: str, expr: str, indent: int, namespace: str) -> None:
        if name in _PRIMITIVES:
            self.primitive(name, expr, indent)
            return
        fullname = name if "." in name or not namespace else f"{namespace}.{name}"
        fullname = fullname if fullname in self.named else name
        if fullname not in self.named or fullname in self.open:
            raise Unsupported(name)  # bytes, fixed, unknown names, recursion
        self.write(self.named[fullname], expr, indent, fullname.rpartition(".")[0])  # where it was defined

    def define(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        """Register a named type; returns (full name, the namespace its fields resolve names in)."""
        name, own = schema["name"], schema.get("namespace", namespace)
        fullname = name if "." in name or not own else f"{own}.{name}"
        self.named[fullname] = schema
        return fullname, fullname.rsplit(".", 1)[0] if "." in fullname else ""

    def record(self, schema: dict[str, Any], expr: str, indent: int, namespace: str) -> None:
        fullname, inner = self.define(schema, namespace)
        self.check("record", expr, indent)
        self.open.add(fullname)
        for field in schema["fields"]:
            value, kind = self.name("v"), field["type"]
            if "default" in field:
                self.emit(indent, f"{value} = {expr}.get({field['name']!r}, {self.constant(field['default'])})")
            elif kind == "null" or (isinstance(kind, list) and "null" in kind):
                self.emit(indent, f"{value} = {expr}.get({field['name']!r})")
            else:
                self.emit(indent, f"{value} = {expr}[{field['name']!r}]")
            if kind in ("double", "float") and not self.strict:  # fastavro's record writer calls float() (e.g. "NaN")
                self.emit(indent, f"{value} = float({value})")
            self.write(kind, value, indent, inner)
        self.open.discard(fullname)

    def union(self, branches: list[Any], expr: str, indent: int, namespace: str) -> None:
        if len(branches) != 2 or "null" not in branches:
            raise Unsupported("union")
        null = branches.index("null")
        self.emit(indent, f"if {expr} is None:")
        self.emit(indent + 1, f"out += {_SMALL[null]!r}")
        self.emit(indent, "else:")
        self.emit(indent + 1, f"out += {_SMALL[1 - null]!r}")
        outer, self.strict = self.strict, True  # fastavro picks a union's branch by validation, stricter than
        self.write(branches[1 - null], expr, indent + 1, namespace)  # its writers: the whole branch is checked
        self.strict = outer

    def array(self, items: Any, expr: str, indent: int, namespace: str) -> None:
        self.check("array", expr, indent)
        item = self.name("i")
        self.emit(indent, f"if len({expr}):")
        self.emit(indent + 1, f"out += _long(len({expr}))")
        self.emit(indent + 1, f"for {item} in {expr}:")
        self.write(items, item, indent + 2, namespace)
        self.emit(indent, "out += b'\\x00'")

    def map(self, values: Any, expr: str, indent: int, namespace: str) -> None:
        self.check("map", expr, indent)
        key, value = self.name("k"), self.name("i")
        self.emit(indent, f"if len({expr}):")
        self.emit(indent + 1, f"out += _long(len({expr}))")
        self.emit(indent + 1, f"for {key}, {value} in {expr}.items():")
        self.primitive("string", key, indent + 2)
        self.write(values, value, indent + 2, namespace)
        self.emit(indent, "out += b'\\x00'")

    def check(self, kind: str, expr: str, indent: int) -> None:
        """Inside a union's branch, fastavro's validation of ``kind`` (where it is stricter than the writer)."""
        if self.strict and kind in _VALID:
            self.emit(indent, f"if not ({_VALID[kind].format(v=expr)}):")
            self.emit(indent + 1, f"raise ValueError('not a valid {kind}')")

    def primitive(self, kind: str, expr: str, indent: int) -> None:
        self.check(kind, expr, indent)
        if kind == "string":
            data, size = self.name("s"), self.name("n")
            self.emit(indent, f"{data} = {expr}.encode()")
            self.emit(indent, f"{size} = len({data})")
            self.emit(indent, f"out += _small[{size}] if {size} < 64 else _long({size})")
            self.emit(indent, f"out += {data}")
        elif kind in ("int", "long"):
            small = f"{expr}.__class__ is int and 0 <= {expr} < 64"  # one byte, the common case
            self.emit(indent, f"out += _small[{expr}] if {small} else _long({expr})")
        elif kind == "boolean":
            self.emit(indent, f"out += b'\\x01' if {expr} else b'\\x00'")
        elif kind == "double":
            self.emit(indent, f"out += {self.constant(struct.Struct('<d').pack)}({expr})")
        elif kind == "float":
            self.emit(indent, f"out += {self.constant(struct.Struct('<f').pack)}({expr})")
        elif kind != "null":  # null writes nothing, whatever the datum (as fastavro)
            raise Unsupported(kind)
