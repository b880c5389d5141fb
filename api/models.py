"""The HTTP contract: request bodies and response models (pydantic v2).

Response models document what each route returns (OpenAPI at ``/docs``) and are enforced
on the way out; :class:`khub.api.service.SearchService` builds exactly these shapes, and
``khub ... --json`` prints the same payloads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Longest value of a filter field (a symbol, country or land use name).
FILTER_CHARS = 200


def check_text(value: Any) -> Any:
    """A request string must be valid Unicode text: no lone surrogate (``"\\ud800"`` in JSON
    decodes to one, and it cannot be encoded) and no control character other than tab and
    line breaks. Raises ValueError (pydantic reports it as 422 naming the field)."""
    if isinstance(value, str):
        bad = next((c for c in value if 0xD800 <= ord(c) <= 0xDFFF or (ord(c) < 32 and c not in "\t\n\r")
                    or ord(c) == 0x7F), None)
        if bad is not None:
            what = "a lone surrogate" if 0xD800 <= ord(bad) <= 0xDFFF else "a control character"
            raise ValueError(f"contains {what} (U+{ord(bad):04X}); send valid Unicode text")
    return value


class RequestBody(BaseModel):
    """Base of the JSON request bodies: unknown fields are refused (422 naming them), strings
    are checked by :func:`check_text`, and NaN or infinity is refused in number fields."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    _text = field_validator("*", mode="after")(check_text)


class FilterFields(RequestBody):
    """The metadata filters a JSON request body may carry (``POST /ask``, ``POST /brief``)."""

    language: str | None = Field(default=None, max_length=8, description="only passages in this language (ISO 639-1)")
    source: str | None = Field(default=None, max_length=20, description="iccd | manual | convention | wocat | spi | national_report")
    symbol: str | None = Field(default=None, max_length=FILTER_CHARS,
                               description="ICCD document symbol, e.g. ICCD/COP(14)/CST/5")
    body: str | None = Field(default=None, max_length=20, description="ICCD body: COP, CST or CRIC")
    session: int | None = Field(default=None, ge=1, description="ICCD session number")
    year: int | None = Field(default=None, ge=1900, le=2100, description="year of the document")
    country: str | None = Field(default=None, max_length=FILTER_CHARS,
                                description="country (WOCAT practices, national reports)")
    document_type: str | None = Field(default=None, max_length=FILTER_CHARS,
                                      description="national reports: national action programme | national report | "
                                      "national action plan")
    land_use: str | None = Field(default=None, max_length=FILTER_CHARS, description="land use (WOCAT practices)")
    kind: str | None = Field(default=None, max_length=20, description="passage kind: body, list_item, heading, "
                             "table, caption, reference, footnote or boilerplate")

    def filters(self) -> dict[str, Any]:
        """The metadata filters of the request, ``{field: value or None}``."""
        return self.model_dump(include=set(FilterFields.model_fields))


class AskRequest(FilterFields):
    """Body of ``POST /ask``."""

    question: str = Field(min_length=1, max_length=2000, description="the question, in any of the six UN languages")
    k: int | None = Field(default=None, ge=1, le=20, description="passages to draw the answer from (default: the answer_passages setting, 10)")
    lang: str | None = Field(default=None, max_length=8, description="language to quote passages in where the "
                             "store holds that edition (default: the question's)")


class BriefRequest(FilterFields):
    """Body of ``POST /brief`` and ``POST /brief/docx``."""

    topic: str = Field(min_length=1, max_length=2000, description="the brief's topic or question, any UN language")
    lang: str | None = Field(default=None, max_length=8,
                             description="preferred language of translated passages (ISO 639-1)")


class _Open(BaseModel):
    """A response part whose listed fields are the contract; extra keys pass through."""

    model_config = ConfigDict(extra="allow")


class CitedPassage(_Open):
    """A passage's id, one-line citation and the metadata the citation is made of."""

    id: str
    citation: str = Field(description="one line in the source's citation style")
    title: str | None = None
    symbol: str | None = None
    paragraph: str | int | None = None
    page: int | str | None = Field(default=None, description="physical page of the PDF (1-based)")
    page_label: str | None = Field(default=None, description="the page number printed on that page, when it prints one")
    year: int | str | None = None
    language: str | None = None
    source: str | None = None
    path: str | None = None
    url: str | None = None
    section: str | None = None
    article: str | None = Field(default=None, description="the Convention: article number")
    annex: str | None = Field(default=None, description="the Convention: annex number (Roman), None in the main text")
    section_number: str | None = Field(default=None, description="numbered section in force (``1.1.3``)")
    section_paragraph: int | None = Field(default=None, description="n-th paragraph of that section (counted)")
    country: str | None = Field(default=None, description="WOCAT practices and national reports: the country")
    document_type: str | None = Field(default=None, description="national reports: national action programme, "
                                      "national report or national action plan")
    period: str | None = Field(default=None, description="national reports: the reporting period (``2010–2011``)")
    ocr: bool | None = Field(default=None, description="the passage's page was read by OCR (its text may have OCR errors)")


class SearchHit(CitedPassage):
    """One passage of a result list."""

    text: str | None
    score: float = Field(description="RRF score (hybrid), BM25 score or cosine similarity")
    translation_group: str | None = None
    also_in: list[str] | None = Field(default=None, description="other languages of the same passage")
    highlight: str | None = Field(default=None, description="HTML-escaped text, matches in <mark>")
    kind: str | None = Field(default=None, description="passage kind: body, list_item, table, caption, reference, ...")
    lead_in: str | None = Field(default=None, description="the sentence introducing a list item")
    retrieved_id: str | None = Field(default=None, description="when this edition was swapped in for the reader's "
                                     "language: the id of the passage retrieval found")
    retrieved_language: str | None = Field(default=None, description="the language of that retrieved passage")


class SearchResponse(_Open):
    """``GET /search``."""

    query: str
    query_language: str
    mode: str
    filters: dict[str, Any]
    lang: str | None
    collapse: bool
    no_match: bool = Field(default=False, description="no passage cleared the relevance floor; results is empty")
    total: int = Field(default=0, description="passages in the result list (all pages)")
    total_documents: int = Field(default=0, description="documents those passages come from")
    offset: int = 0
    sort: str = "relevance"
    results: list[SearchHit]
    nearest: list[SearchHit] = Field(default=[], description="with no_match: the passages found anyway, "
                                     "which are not evidence")


class Reference(CitedPassage):
    """A numbered reference of an answer or brief."""

    n: int
    kind: str | None = None
    retrieved_id: str | None = Field(default=None, description="when the cited edition was swapped in for the "
                                     "reader's language: the passage retrieval found")
    retrieved_language: str | None = None


class Statement(_Open):
    """A sentence copied verbatim from the passage it cites (``citation`` = reference ``n``)."""

    text: str
    lead_in: str | None = Field(default=None, description="for a list item: the verbatim sentence introducing the list")
    citation: int
    passage_id: str
    score: float
    language: str | None = None


class AnswerResponse(_Open):
    """``POST /ask``: the answer, its statements, references and the passages drawn on."""

    question: str
    query_language: str | None = None
    no_match: bool = False
    message: str | None = None
    answer: str
    sentences: list[Statement]
    references: list[Reference]
    passages: list[SearchHit]


class BriefSection(_Open):
    """The statements of one source in a brief."""

    source: str
    heading: str
    statements: list[Statement]


class BriefResponse(_Open):
    """``POST /brief``: key findings, evidence by source, references and the Markdown."""

    topic: str
    generated: str
    query_language: str | None
    filters: dict[str, Any]
    lang: str | None
    no_match: bool = False
    key_findings: list[Statement]
    sections: list[BriefSection]
    references: list[Reference]
    markdown: str


class FacetsResponse(_Open):
    """``GET /facets``: document counts per facet value."""

    query: str | None
    filters: dict[str, Any]
    documents: int
    facets: dict[str, dict[str, int]]


class PassageResponse(_Open):
    """``GET /documents/{id}``: one stored passage with all its metadata."""

    id: str
    text: str | None
    meta: dict[str, Any]


class Edition(_Open):
    """One language edition of a passage."""

    id: str
    language: str | None
    text: str | None
    citation: str


class TranslationsResponse(_Open):
    """``GET /passages/{id}/translations``: every edition of the passage's paragraph."""

    id: str
    translation_group: str | None
    editions: list[Edition]


class HealthResponse(_Open):
    """``GET /health``: ``status`` is ``ok``, or ``degraded`` with the ``problems`` found
    (each naming the damaged file or index; :meth:`khub.index.store.PassageStore.check`)."""

    status: str
    passages: int
    documents: int
    embedding_model: str | None
    problems: list[str] = []
