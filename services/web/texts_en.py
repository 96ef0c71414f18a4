"""English for the web app's Vietnamese texts (``services.web.i18n``); keys are the Vietnamese as written."""

from __future__ import annotations

EN: dict[str, str] = {}
