"""Build ``ui/static/i18n/wocat.json``: the WOCAT terms shown as facet values (country, land
use) in the five other UN languages, from QCAT's own gettext catalogues.

    .venv/bin/pip install Babel
    .venv/bin/python ui/build_vocabulary.py ../shared/corpora/wocat/vocabulary/locale corpora/wocat

Reads ``<locale>/<lang>/django.po`` (ar, es, fr, ru, zh) with Babel's ``read_po`` and keeps the
translations of every country and land-use value of the QCAT records in the corpus folder
(:func:`khub.ingest.wocat.load_record_file`), so the page's catalogue stays small. Run it
again after harvesting new records; the page shows a value untranslated when it is missing.
Output: ``{"Grazing land": {"fr": "Pâturages", ...}, ...}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from khub.ingest.wocat import load_record_file

LANGUAGES = ("ar", "es", "fr", "ru", "zh")
FIELDS = ("country", "land_use")
OUT = Path(__file__).resolve().parent / "static" / "i18n" / "wocat.json"


def corpus_terms(folder: Path) -> set[str]:
    """The country and land-use values of the QCAT records in ``folder``."""
    terms: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        _, meta = load_record_file(path)
        for field in FIELDS:
            value = meta.get(field)
            terms.update(v for v in (value if isinstance(value, list) else [value]) if v)
    return terms


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    locale, records = Path(sys.argv[1]), Path(sys.argv[2])
    terms = corpus_terms(records)
    vocabulary: dict[str, dict[str, str]] = {term: {} for term in sorted(terms)}
    for lang in LANGUAGES:
        with open(locale / lang / "django.po", "rb") as fh:
            catalog = read_po(fh, locale=lang)
        for message in catalog:
            if isinstance(message.id, str) and message.id in vocabulary and message.string:
                vocabulary[message.id][lang] = str(message.string)
    OUT.write_text(json.dumps(vocabulary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(vocabulary)} terms, {sum(len(v) for v in vocabulary.values())} translations")


if __name__ == "__main__":
    main()
