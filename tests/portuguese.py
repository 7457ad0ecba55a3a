"""Does a page read as Portuguese for a person, with nothing left over from the code?

Shared by the report tests (the marketing infographic, the analysts' analysis page, the
model card): English function words betray a sentence the notebook or a library printed
in English; NaN, a temporary folder or a traceback betray output nobody tidied.
"""

from __future__ import annotations

import re
from html import unescape

# Lower case only: "TO" is Tocantins, "DE" a state-less preposition in names.
ENGLISH = re.compile(
    r"\b(the|and|with|from|this|which|should|will|are|was|were|has|have|of|to|is|for|not|"
    r"rows|outputs|scored|customers|hidden|unseen|ranking|fitted|held)\b"
)
LEFTOVERS = ("Traceback", "/tmp/", "/var/folders", "bigd-report-", "bigd-analysis-", "NaN",
             "None", "nan ", "<NA>", "Error", "Warning")  # fmt: skip
JARGON = ("RMSE", "R²", "fold", "MAE", "AUC", "lift")  # fine for analysts, not for marketing
TAGS = re.compile(r"<[^>]+>")
UNREAD = re.compile(r"<(svg|style|script|title)\b.*?</\1>", re.S)


def english_words(text: str) -> list[str]:
    return ENGLISH.findall(text)


def leftovers(text: str) -> list[str]:
    return [word for word in LEFTOVERS if word in text]


def page_text(html: str) -> str:
    """What a reader reads of an HTML page: the body's text, without styles and charts
    (charts carry their own accessible text, checked where they are made)."""
    body = html.split("<body", 1)[-1].split(">", 1)[-1]
    return re.sub(r"\s+", " ", unescape(TAGS.sub(" ", UNREAD.sub(" ", body)))).strip()
