"""Vietnamese first, English switchable: templates write Vietnamese (``_("Trang chủ")``) and this table gives the
English; anything missing stays Vietnamese (names of units, plans and forms always do)."""

from __future__ import annotations

from starlette.requests import Request

from .texts_en import EN

LANG_COOKIE = "thidua_lang"
LANGS = ("vi", "en")


def language(request: Request) -> str:
    """The language chosen in this browser (``vi`` unless ``en`` was picked)."""
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGS else "vi"


class Translator:
    """``_("…")`` of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, text: str | None, **values: object) -> str:
        """``text`` in this language, with ``{name}`` placeholders filled from ``values`` (texts are NFC: tested)."""
        if text is None:
            return ""
        found = EN.get(text, text) if self.lang == "en" else text
        return found.format(**values) if values else found
