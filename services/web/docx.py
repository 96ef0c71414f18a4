"""A minimal Word document (DOCX, Office Open XML) of titled paragraphs and one bordered table, written with the
standard library: the decision list officials attach to a decision ("Danh sách khen thưởng kèm theo Quyết định
số …") opens in Word and LibreOffice without another runtime dependency."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:cs="Times New Roman"/>'


def _run(text: str, bold: bool = False, size: int = 26) -> str:
    props = f'<w:rPr>{FONT}{"<w:b/>" if bold else ""}<w:sz w:val="{size}"/></w:rPr>'
    return f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _paragraph(text: str, bold: bool = False, center: bool = True, italic_size: int = 26) -> str:
    align = '<w:pPr><w:jc w:val="center"/></w:pPr>' if center else ""
    return f"<w:p>{align}{_run(text, bold, italic_size)}</w:p>"


def _cell(text: str, bold: bool = False) -> str:
    return f"<w:tc><w:p>{_run(text, bold, 24)}</w:p></w:tc>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    props = f'<w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>{borders}</w:tblBorders></w:tblPr>'
    head = "<w:tr>" + "".join(_cell(h, bold=True) for h in header) + "</w:tr>"
    body = "".join("<w:tr>" + "".join(_cell(str(c)) for c in row) + "</w:tr>" for row in rows)
    return f"<w:tbl>{props}{head}{body}</w:tbl>"


def document(titles: Sequence[str], header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A DOCX: the centred titles (the first bold), then the table."""
    paragraphs = "".join(_paragraph(t, bold=i == 0) for i, t in enumerate(titles))
    body = f"<w:body>{paragraphs}{_table(header, rows)}<w:p/></w:body>"
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}">{body}</w:document>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", RELS)
        package.writestr("word/document.xml", xml)
    return out.getvalue()
