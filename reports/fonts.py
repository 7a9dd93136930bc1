"""CJK fonts for the PDFs: Noto Sans SC (then TC, JP, KR for characters SC lacks), shipped by the
``justmytype-intl-cjk`` package, so every machine prints the same glyphs.

The packaged fonts are variable (default weight Thin) and large (18 MB), so a document does not
embed them: :class:`DocumentFonts` cuts each needed font down to the characters of a batch of
documents, fixes the weight (400 and 700) and writes small static TrueType files that fpdf2 then
subsets again per page. Cutting costs about a second per batch, which is why batches share one
:class:`DocumentFonts`.

Per document, fpdf2 would parse each cut font again (cmap, widths, glyph names) and then subset it
destructively. :meth:`DocumentFonts.install` parses each cut once per batch and gives every document
a copy that shares the parsed metrics and gets a fresh, lazily read font (its glyph order given, so
fontTools need not rebuild glyph names from the cmap) for fpdf2's destructive per-document subset.
Bold is cut only for the characters set in bold (fixed headings and labels, when the caller says
so), which keeps that font, and its per-document subset, small.
"""

from __future__ import annotations

import copy
import io
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

from reports.errors import UnprintableText

# In order of preference: Simplified Chinese shapes first, the others only for what SC lacks
# (e.g. 𠮷 U+20BB7 is in TC and JP).
_FONT_FILES = (
    ("sc", "notosanssc/NotoSansSC[wght].ttf"),
    ("tc", "notosanstc/NotoSansTC[wght].ttf"),
    ("jp", "notosansjp/NotoSansJP[wght].ttf"),
    ("kr", "notosanskr/NotoSansKR[wght].ttf"),
)
WEIGHTS = {"": 400, "B": 700}
FAMILY = "cjk"


def _font_path(relative: str) -> Path:
    return Path(str(resources.files("justmytype_intl_cjk") / "fonts" / "ofl" / relative))


@lru_cache(maxsize=1)
def _font_bytes() -> dict[str, bytes]:
    return {key: _font_path(rel).read_bytes() for key, rel in _FONT_FILES}


@lru_cache(maxsize=1)
def _coverage() -> dict[str, frozenset[int]]:
    return {key: frozenset(TTFont(io.BytesIO(data), lazy=True).getBestCmap()) for key, data in _font_bytes().items()}


def _printable(text: str) -> set[str]:
    """Characters that need a glyph: whitespace and control/format characters do not."""
    return {c for c in text if c not in "\t\n\r" and unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")}


def missing_characters(text: str) -> str:
    """Characters of ``text`` that no bundled font covers, in order of first appearance."""
    covered = _coverage()
    seen: dict[str, None] = {}
    for c in text:
        if c in _printable(c) and not any(ord(c) in cmap for cmap in covered.values()):
            seen[c] = None
    return "".join(seen)


def _cut(data: bytes, characters: str, weight: int, key: str) -> bytes:
    font = TTFont(io.BytesIO(data), lazy=True)
    options = ftsubset.Options()
    options.layout_features = []  # no shaping needed for CJK, Latin digits and punctuation
    # Layout tables are not needed for CJK, Latin digits and punctuation; vertical metrics are
    # not used (text is set horizontally) and would be subset again in every document.
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "DSIG", "vhea", "vmtx", "VORG"]
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and OFL licence notice
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    # updateFontNames renames "Thin" (the default instance) to the weight cut, using STAT.
    static = instancer.instantiateVariableFont(font, {"wght": weight}, static=True, updateFontNames=True)
    if "STAT" in static:
        del static["STAT"]
    family, style = f"NotoSans{key.upper()}", ("Bold" if weight >= 700 else "Regular")
    names = static["name"]
    for name_id, value in ((1, family), (2, style), (4, f"{family} {style}"), (6, f"{family}-{style}"), (16, family), (17, style)):
        names.removeNames(nameID=name_id)
        names.setName(value, name_id, 3, 1, 0x409)
    out = io.BytesIO()
    static.save(out)
    return out.getvalue()


class DocumentFonts:
    """Static, subset fonts for every character of ``texts``; files live until :meth:`close`.

    Raises :class:`UnprintableText` if a character is in none of the fonts, so a certificate
    never prints an empty box in a physician's name.
    """

    def __init__(self, texts: Iterable[str], *, bold_texts: Iterable[str] | None = None) -> None:
        needed: set[str] = set("0123456789")
        for text in texts:
            needed |= _printable(text)
        # Bold needs only its own characters when the caller names them (they must be among texts).
        bold = None if bold_texts is None else set().union(*map(_printable, bold_texts)) | {" "}
        missing = missing_characters("".join(sorted(needed)))
        if missing:
            raise UnprintableText(missing)
        coverage = _coverage()
        data = _font_bytes()
        plan: dict[str, str] = {}
        remaining = set(needed)
        for key, _ in _FONT_FILES:
            mine = {c for c in remaining if ord(c) in coverage[key]}
            if mine or key == "sc":
                # Each cut keeps a space: fpdf2 may set the space after a fallback character
                # in the fallback font, which otherwise draws a stray glyph.
                plan[key] = "".join(sorted(mine | {" "}))
            remaining -= mine
        self._dir = Path(tempfile.mkdtemp(prefix="dingkao-fonts-"))
        self.files: dict[tuple[str, str], Path] = {}
        try:
            for key, characters in plan.items():
                # Bold is for headings and labels (fixed text, all in SC): fallbacks need regular only.
                for style, weight in (WEIGHTS.items() if key == "sc" else [("", WEIGHTS[""])]):
                    path = self._dir / f"{key}{style or 'R'}.ttf"
                    cut_chars = characters
                    if style == "B" and bold is not None:
                        cut_chars = "".join(sorted(bold & (set(characters) | set("0123456789"))))
                    path.write_bytes(_cut(data[key], cut_chars, weight, key))
                    self.files[(key, style)] = path
        except BaseException:
            self.close()
            raise
        self._plan = {key: set(chars) for key, chars in plan.items()}
        self._parsed: dict[tuple[str, str], tuple[object, bytes, list[str]]] = {}

    def _parsed_font(self, key: str, style: str, family: str, path: Path):  # -> (TTFFont, bytes, glyph order)
        """fpdf2's parse of a cut font, done once per batch on a scratch document that never outputs."""
        if (key, style) not in self._parsed:
            from fpdf import FPDF

            scratch = FPDF()
            scratch.add_font(family, style, str(path))
            template = next(reversed(scratch.fonts.values()))
            self._parsed[(key, style)] = (template, path.read_bytes(), list(template.ttfont.getGlyphOrder()))
        return self._parsed[(key, style)]

    def install(self, pdf, text: str) -> None:  # pdf: fpdf.FPDF
        """Register on a document the fonts its ``text`` needs; the family is ``"cjk"``, styles
        "" and "B", with fallbacks for characters Simplified Chinese fonts lack."""
        needed = _printable(text)
        fallbacks = []
        for (key, style), path in self.files.items():
            family = FAMILY if key == "sc" else f"{FAMILY}{key}"
            if key != "sc":
                if not needed & self._plan[key]:
                    continue
                fallbacks.append(family)
            from fpdf.fonts import SubsetMap

            template, data, order = self._parsed_font(key, style, family, path)
            font = copy.deepcopy(template)  # fpdf2's own copy: shares the parsed cmap and metrics
            font.i = len(pdf.fonts) + 1
            font.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
            font.ttfont.setGlyphOrder(list(order))
            # The cut fonts are static with exact glyph boxes: skipping fpdf2's recalculation on
            # its per-page subset saves re-encoding every outline.
            font.ttfont.recalcBBoxes = False
            font.missing_glyphs = []
            font.subset = SubsetMap(font)
            pdf.fonts[font.fontkey] = font
        if fallbacks:
            pdf.set_fallback_fonts(fallbacks, exact_match=False)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DocumentFonts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
