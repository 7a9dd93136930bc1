"""Line breaking for Chinese text: by character, but never starting a line with closing
punctuation (避头) nor ending one with opening punctuation (避尾), as printed Chinese does."""

from __future__ import annotations

from collections.abc import Callable

NO_LINE_START = set("，。、；：？！）》」』】〕”’%…—·,.;:?!)]}")
NO_LINE_END = set("（《「『【〔“‘([{")


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Split ``text`` into lines no wider than ``width`` (as ``measure`` says), except where a
    punctuation mark has to stay with its neighbour."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            if not line or measure(line + char) <= width:
                line += char
                continue
            carry = ""
            if char in NO_LINE_START and len(line) > 1:
                carry, line = line[-1], line[:-1]  # the mark pulls the last character down with it
            while len(line) > 1 and line[-1] in NO_LINE_END:
                carry, line = line[-1] + carry, line[:-1]
            lines.append(line)
            line = carry + char
        lines.append(line)
    return lines
