"""Tables shown on screen and exported to XLSX and CSV from the same rows, columns and order, so a file holds
exactly the numbers on the screen: counts as integers, rates as the percentage shown (one decimal)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from services.kernel.vntime import now_vn

from .formats import number, percent, percent_value
from .i18n import Translator

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    """A column: its key in the rows, its Vietnamese title, its kind (``text``, ``int``, ``rate``, ``number``)."""

    key: str
    title: str
    kind: str = "text"
    sortable: bool = True
    label: bool = False  # a label of ours (translated), not a name from the data

    @property
    def numeric(self) -> bool:
        """Right-aligned, summed, exported as numbers."""
        return self.kind != "text"

    def value(self, row: dict[str, Any]) -> Any:
        """The cell as shown and exported: a rate as its percentage (one decimal), else the row's value."""
        raw = row.get(self.key)
        return percent_value(raw) if self.kind == "rate" else raw


@dataclass
class Grid:
    """A titled table: columns and rows (dicts keyed by column), with optional links per row for the screen."""

    title: str  # Vietnamese, translated on screen and in the file
    subtitle: str  # names and period: data, as they are
    columns: list[Column]
    rows: list[dict[str, Any]]
    context: list[tuple[str, str]] = field(default_factory=list)  # (label, value) exported on sheet 2

    def column(self, key: str | None) -> Column | None:
        """The sortable column ``key``, or None."""
        return next((c for c in self.columns if c.key == key and c.sortable), None)

    def sort(self, key: str | None, descending: bool) -> Grid:
        """The rows ordered by the column ``key`` (nothing last, names in Vietnamese alphabetical order); unknown
        keys leave the order as it is."""
        column = self.column(key)
        if column is None:
            return self
        present = [r for r in self.rows if r.get(column.key) is not None]
        absent = [r for r in self.rows if r.get(column.key) is None]
        order: Callable[[dict[str, Any]], Any] = (
            (lambda r: r[column.key]) if column.numeric else (lambda r: collation_key(str(r[column.key])))
        )
        self.rows = sorted(present, key=order, reverse=descending) + absent
        return self


NUM = ' class="num"'
BAR = (
    '<svg class="bar" width="56" height="10" viewBox="0 0 100 12" preserveAspectRatio="none" aria-hidden="true" '
    'focusable="false"><rect class="bar-bg" width="100" height="12"/><rect class="bar-fg{tone}" width="{width}" '
    'height="12"/></svg>'
)


def _cell(column: Column, row: dict[str, Any], links: dict[str, str], lang: str, _: Translator) -> str:
    value = row.get(column.key)
    text: str
    if column.kind == "rate":
        text = str(escape(percent(value, lang)))
        if value is not None:
            width = round(min(max(value, 0.0), 1.0) * 100, 1)
            text += BAR.format(width=width, tone=" good" if width >= 90 else " low" if width < 50 else "")
    elif column.numeric:
        digits = 2 if column.kind == "number" and value is not None and value % 1 else 0
        text = str(escape(number(value, lang, digits)))
    else:
        text = str(escape((_(value) if column.label else value) if value else "–"))
    href = links.get(column.key) if value else None
    if href:
        text = f'<a href="{escape(href)}">{text}</a>'
    return f'<td{NUM if column.numeric else ""} data-key="{column.key}">{text}</td>'


def rows_html(grid: Grid, lang: str, _: Translator) -> Markup:
    """The table's body rows, formatted in Python (a province's table has over a thousand cells: a template loop
    over them costs several times more)."""
    out = []
    for row in grid.rows:
        links = row.get("links") or {}
        out.append("<tr>" + "".join(_cell(c, row, links, lang, _) for c in grid.columns) + "</tr>")
    return Markup("\n".join(out))


def collation_key(text: str) -> tuple[str, str]:
    """Vietnamese names in alphabetical order, near enough: letters without their marks first, then with them."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold(), text


def _titles(grid: Grid, _: Translator) -> list[str]:
    return [_(c.title) + (" (%)" if c.kind == "rate" else "") for c in grid.columns]


def to_csv(grid: Grid, _: Translator) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets then read the diacritics), comma-separated, decimal point."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_titles(grid, _))
    for row in grid.rows:
        writer.writerow(["" if (v := c.value(row)) is None else v for c in grid.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(grid: Grid, _: Translator) -> bytes:
    """Sheet 1: the table (header row frozen, numbers as numbers); sheet 2: what it is (title, filters, time)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Số liệu")[:31]
    sheet.append(_titles(grid, _))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in grid.rows:
        sheet.append([c.value(row) for c in grid.columns])
    for index, column in enumerate(grid.columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 12 if column.numeric else 32
        if column.kind in ("rate", "number"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "0.0" if column.kind == "rate" else "0.##"
    sheet.freeze_panes = "A2"
    about = book.create_sheet(_("Thông tin")[:31])
    about.append([_("Bảng"), f"{_(grid.title)} · {grid.subtitle}"])
    for label, value in grid.context:
        about.append([_(label), value])
    about.append([_("Xuất lúc (giờ Việt Nam)"), now_vn().strftime("%H:%M %d/%m/%Y")])
    about.append([_("Nguồn"), "thidua-sync"])
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 80
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
