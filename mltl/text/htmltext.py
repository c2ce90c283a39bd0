"""HTML pages to prose lines, with the standard library's :mod:`html.parser`.

Text of ``script``, ``style``, ``noscript`` and ``template`` elements is dropped, and so is
page chrome a reader never reads as text (``nav``, ``footer``). Block elements (paragraphs,
divisions, list items, table cells, headings, ``br``, ``pre``, ``title``…) end a line;
inline markup (``a``, ``span``, ``em``…) does not, so a link inside a sentence stays part of
it. Character references (``&amp;``, ``&#228;``) are resolved. Lines are
whitespace-normalised; empty ones are not yielded.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Iterable, Iterator

SKIP = frozenset({"script", "style", "noscript", "template", "nav", "footer"})
BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "caption",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "title",
        "tr",
        "ul",
    }
)


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._buf: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIP:
            self._skip += 1
        if tag in BLOCK:
            self.flush()

    def handle_startendtag(self, tag: str, attrs) -> None:
        # <br/>, <a id="x"/> (XHTML): a line break where it is a block, nothing to skip
        if tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self._skip = max(0, self._skip - 1)
        if tag in BLOCK:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buf.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf.clear()
        if text:
            self.lines.append(text)


def html_to_lines(lines: Iterable[str]) -> Iterator[str]:
    """Prose lines of one HTML document given as its lines (without line endings), streamed."""
    p = _Extractor()
    for line in lines:
        p.feed(line + "\n")
        if p.lines:
            yield from p.lines
            p.lines.clear()
    p.close()
    p.flush()
    yield from p.lines
