"""Pieces of Markdown files, so that one page can show another file's section without a copy.

The website (:mod:`helpers.devtools.book`) shows the README's instructors' section and the
workshop path of ``notebooks/README.md``; these functions cut such a section out, move its
headings to the level the page needs and re-point its relative links.

Example
-------
>>> text = "# Title\\n\\nIntro.\\n\\n## Usage\\n\\nRun it.\\n\\n## More\\n"
>>> print(section(text, "usage", level=1))
# Usage
<BLANKLINE>
Run it.
<BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
# Inline links and images, [text](target) and ![alt](target), and HTML <img src="...">.
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_IMG_SRC = re.compile(r"(<img\b[^>]*?\bsrc=[\"'])([^\"']+)([\"'])")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Heading:
    """An ATX heading: its line number (from 0), level (1 for ``#``) and title."""

    line: int
    level: int
    title: str


def headings(lines: list[str]) -> list[Heading]:
    """The headings of a Markdown text given as lines, outside fenced code blocks."""
    found, fenced = [], False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            found.append(Heading(number, len(match.group(1)), match.group(2)))
    return found


def shift_headings(lines: list[str], by: int) -> list[str]:
    """The lines with every heading (outside code blocks) ``by`` levels deeper (or higher)."""
    shifted, fenced = [], False
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            level = min(max(len(match.group(1)) + by, 1), 6)
            line = "#" * level + " " + match.group(2)
        shifted.append(line)
    return shifted


def section(text: str, title: str, level: int | None = None) -> str | None:
    """The section whose heading matches ``title``, up to the next heading as high as its own.

    Parameters
    ----------
    text
        A Markdown document.
    title
        A regular expression searched (case-insensitively) in each heading's title; the first
        heading that matches starts the section.
    level
        The level its heading gets (its sub-headings follow); None keeps the levels as they are.

    Returns
    -------
    str or None
        The section, heading included, ending with a newline; None when no heading matches.
    """
    lines = text.splitlines()
    found = headings(lines)
    pattern = re.compile(title, re.IGNORECASE)
    start = next((h for h in found if pattern.search(h.title)), None)
    if start is None:
        return None
    end = next((h.line for h in found if h.line > start.line and h.level <= start.level),
               len(lines))  # fmt: skip
    piece = lines[start.line:end]
    if level is not None:
        piece = shift_headings(piece, level - start.level)
    return "\n".join(piece).strip("\n") + "\n"


def preamble(text: str) -> str:
    """What comes after the first ``#`` title and before the first other heading."""
    lines = text.splitlines()
    found = headings(lines)
    first = found[0].line + 1 if found and found[0].level == 1 else 0
    end = next((h.line for h in found if h.line >= first), len(lines))
    return "\n".join(lines[first:end]).strip("\n") + "\n"


def is_relative(target: str) -> bool:
    """True for a link to a file beside the document (not a URL, an e-mail, or ``#anchor``)."""
    return not (_SCHEME.match(target) or target.startswith(("#", "/", "//")))


def rewrite_links(text: str, resolve: Callable[[str], str]) -> str:
    """The text with every relative link and image target replaced by ``resolve(target)``.

    Targets in fenced code blocks and in inline code spans are left alone.
    """

    def swap(match: re.Match) -> str:
        head, target, tail = match.groups()
        return head + (resolve(target) if is_relative(target) else target) + tail

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            parts = re.split(r"(`[^`]*`)", line)  # odd parts are code spans
            for index in range(0, len(parts), 2):
                parts[index] = _IMG_SRC.sub(swap, _LINK.sub(swap, parts[index]))
            line = "".join(parts)
        out.append(line)
    return "".join(out)
