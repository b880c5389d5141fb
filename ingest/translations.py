"""Translation groups: passages that are the same content in another language.

* ICCD documents: the same symbol and paragraph number, e.g. ``ICCD/COP(14)/CST/5#41``
  (each language edition of a session document shares its symbol).
* The PRAIS reporting manual: the same aligned segment, read from the alignment file
  ``segments_aligned.jsonl`` shipped beside the language folders
  (``{edition, module, seq, en, ar, es, fr, ru, zh}`` per line). A passage joins the
  group of the longest segment of its chapter whose text (in the document's language,
  whitespace ignored) it contains.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from khub.ingest.clean import strip_markup

ALIGNMENT_FILE = "segments_aligned.jsonl"
_WS = re.compile(r"\s+")
_MIN_SEGMENT_CHARS = 12


def iccd_group(symbol: str | None, paragraph: str | None) -> str | None:
    """``<symbol>#<paragraph>`` when both are known, else None."""
    return f"{symbol}#{paragraph}" if symbol and paragraph else None


def find_alignment(path: Path, levels: int = 2) -> Path | None:
    """The alignment file in the file's folder or up to ``levels`` folders above it."""
    folder = path.resolve().parent
    for _ in range(levels + 1):
        candidate = folder / ALIGNMENT_FILE
        if candidate.is_file():
            return candidate
        folder = folder.parent
    return None


@lru_cache(maxsize=8)
def _segments(alignment: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(module, language) -> [(group id, whitespace-free text)] in segment order."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for line in alignment.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        group = f"prais-{row.get('edition', '')}:{row['module']}:{row['seq']}"
        for lang in ("en", "ar", "es", "fr", "ru", "zh"):
            text = _WS.sub("", "\n".join(strip_markup(ln) for ln in (row.get(lang) or "").split("\n")))
            if len(text) >= _MIN_SEGMENT_CHARS:
                out.setdefault((row["module"].lower(), lang), []).append((group, text))
    return out


def contained_segments(path: Path, language: str | None, text: str) -> set[str]:
    """The groups of every aligned segment of the chapter contained in ``text`` (a passage may
    hold several when the chunker merged short paragraphs); empty without an alignment file."""
    return {group for _, group in _contained(path, language, [text])[0]}


def _contained(path: Path, language: str | None, texts: list[str]) -> list[list[tuple[int, str]]]:
    """Per text, ``(segment length, group)`` of every aligned segment of the chapter it holds."""
    alignment = find_alignment(path)
    if alignment is None or language is None:
        return [[] for _ in texts]
    segments = _segments(alignment).get((path.stem.lower(), language), [])
    out = []
    for text in texts:
        flat = _WS.sub("", text)
        out.append([(len(seg), g) for g, seg in segments if seg in flat])
    return out


def manual_groups(path: Path, language: str | None, texts: list[str]) -> list[str | None]:
    """The aligned-segment group of each passage text of a manual chapter (None where no
    segment of the chapter is contained in the passage, or no alignment file exists): the
    group of the longest segment it holds."""
    return [max(held)[1] if held else None for held in _contained(path, language, texts)]
