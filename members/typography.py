"""How each language writes what the register prints as plain text: quotation marks.

Pages quote with `<q>`, whose marks the stylesheet draws for the page's
language; plain text (feeds) gets them here. French sets guillemets with a
narrow no-break space inside (« … »), Spanish angle quotes without, English
curly quotes. The marks are the surrounding text's, not the quote's: an
English quote on a French page is in guillemets.
"""

from django.utils.translation import get_language

NARROW_NO_BREAK_SPACE = "\u202f"

QUOTES = {
    "fr": ("«" + NARROW_NO_BREAK_SPACE, NARROW_NO_BREAK_SPACE + "»"),
    "es": ("«", "»"),
    "en": ("“", "”"),
}


def quoted(text: str) -> str:
    """Return the text between the active language's quotation marks."""
    language = (get_language() or "en").split("-")[0]
    opening, closing = QUOTES.get(language, QUOTES["en"])
    return f"{opening}{text}{closing}"
