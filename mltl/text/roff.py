"""A small roff (man page) to prose converter for raw text and benchmark data.

Keeps running paragraphs (one paragraph per yielded line); drops code/example
blocks (``.nf``/``.fi``, ``.EX``/``.EE``), tables (``.TS``/``.TE``), comments and
copyright boilerplate. Font escapes are removed, keeping their text, so
``\\fBls\\fP`` becomes ``ls``. :func:`roff_spans` keeps them as spans instead.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

_NAMED = {
    "em": "—",
    "en": "–",
    "hy": "-",
    "bu": "•",
    "aq": "'",
    "dq": '"',
    "lq": "“",
    "rq": "”",
    "oq": "‘",
    "cq": "’",
    "co": "©",
    "rg": "®",
    "tm": "™",
    "mi": "−",
    "ti": "~",
    "ha": "^",
    "Fo": "«",
    "Fc": "»",
    "fo": "‹",
    "fc": "›",
    "de": "°",
    "mu": "×",
    "pl": "+",
    "eq": "=",
    "sl": "/",
    "rs": "\\",
    "ba": "|",
    "at": "@",
    "sh": "#",
    "Do": "$",
    "ct": "¢",
    "ss": "ß",
    "a:": "ä",
    "o:": "ö",
    "u:": "ü",
    "A:": "Ä",
    "O:": "Ö",
    "U:": "Ü",
    "e'": "é",
    "a`": "à",
    "e`": "è",
    "c,": "ç",
    "n~": "ñ",
}
_FONT_MACROS = {"B", "I", "SM", "SB", "BR", "RB", "IR", "RI", "BI", "IB", "UR", "MT", "OP"}
_PARA = {"PP", "LP", "P", "SH", "SS", "TP", "IP", "HP", "TQ", "RS", "RE", "TH", "sp", "br", "in", "ti"}
_SKIP_START = {"nf": "fi", "EX": "EE", "TS": "TE", "EQ": "EN", "de": "..", "ig": ".."}
_BOILERPLATE = re.compile(
    r"(?i)copyright|licen[cs]e|permission is granted|this program is free|"
    r"GNU General Public|warranty|translat(ion|or)|übersetz|traduc|vertaling"
)


def unescape(text: str, keep_fonts: bool = False) -> str:
    """Resolve roff escapes; with ``keep_fonts`` the ``\\fX`` switches stay in the text."""
    text = re.sub(r'\\".*$', "", text)  # comment
    text = re.sub(r"\\\((..)", lambda m: _NAMED.get(m.group(1), ""), text)
    text = re.sub(r"\\\[([^\]]*)\]", lambda m: _NAMED.get(m.group(1), ""), text)
    if not keep_fonts:
        text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
    text = re.sub(r"\\[sS][-+]?\d+", "", text)  # size changes
    text = re.sub(r"\\[*n]\(..|\\[*n]\[[^\]]*\]|\\[*n].", "", text)  # strings, registers
    text = re.sub(r"\\[hvwoDlLxXbkZ]'[^']*'", "", text)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\ ", " ")
    text = text.replace("\\~", " ").replace("\\0", " ").replace("\\|", "").replace("\\^", "")
    text = text.replace("\\c", "").replace("\\:", "").replace("\\/", "").replace("\\,", "")
    text = text.replace("\\%", "").replace("\\'", "'").replace("\\`", "`")
    return text


def _macro_args(rest: str) -> list[str]:
    return [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', rest)]


def roff_lines(lines: Iterable[str], keep_fonts: bool = False) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, text)`` with kind ``para`` (a paragraph break) or ``text``.

    Font macros (``.B x``, ``.IR a b``) are turned into inline text; with
    ``keep_fonts`` they are written as ``\\fB…\\fR`` escapes so spans survive.
    """
    skip_until: str | None = None
    section = ""
    for raw in lines:
        line = raw.rstrip("\n")
        if skip_until:
            if line.startswith("." + skip_until) or line.startswith("'" + skip_until):
                skip_until = None
            continue
        if line.startswith((".", "'")):
            m = re.match(r"^[.']\s*(\S+)\s*(.*)$", line)
            if not m:
                continue
            name, rest = m.group(1), m.group(2)
            if name.startswith('\\"'):
                continue
            if name in _SKIP_START:
                skip_until = _SKIP_START[name]
                continue
            if name == "SH":
                section = " ".join(_macro_args(rest)).upper()
                yield "para", section
                continue
            if name in _PARA:
                yield "para", ""
                if name in ("IP", "TP") and rest:
                    args = _macro_args(rest)
                    if args and name == "IP" and args[0] not in ("\\(bu", "-", "*", "\\(em"):
                        yield "text", unescape(args[0], keep_fonts)
                        yield "para", ""
                continue
            if name in _FONT_MACROS and rest:
                args = _macro_args(rest)
                fonts = {"B": "B", "I": "I", "SB": "B"}.get(name, name)
                if name in ("B", "I", "SB", "SM"):
                    body = " ".join(args)
                    out = f"\\f{fonts}{body}\\fR" if keep_fonts and name != "SM" else body
                else:
                    parts = []
                    for j, a in enumerate(args):
                        f = fonts[j % 2] if len(fonts) == 2 else "R"
                        parts.append(f"\\f{f}{a}\\fR" if keep_fonts and f in "BI" else a)
                    out = "".join(parts)
                yield "text", unescape(out, keep_fonts)
            continue  # any other request: no text
        if section in (
            "COPYRIGHT",
            "COLOPHON",
            "ÜBERSETZUNG",
            "TRADUCTION",
            "TRADUCCIÓN",
            "VERTALING",
            "AUTHOR",
            "AUTHORS",
            "AUTOR",
            "AUTOREN",
            "AUTEURS",
            "AUTORES",
            "SEE ALSO",
        ):
            continue
        yield "text", unescape(line, keep_fonts)


def roff_to_paragraphs(lines: Iterable[str], min_words: int = 3) -> Iterator[str]:
    """Prose paragraphs of a man page, one per item, whitespace-normalised."""
    buf: list[str] = []

    def flush() -> Iterator[str]:
        text = " ".join(" ".join(buf).split())
        buf.clear()
        if len(text.split()) >= min_words and not _BOILERPLATE.search(text):
            yield text

    for kind, text in roff_lines(lines):
        if kind == "para":
            yield from flush()
        elif text.strip():
            buf.append(text)
    yield from flush()
