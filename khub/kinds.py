"""The passage kinds: one vocabulary for the ingest stage that assigns them
(:func:`khub.ingest.kinds.classify`) and the index stage that ranks by them
(:class:`khub.index.retrieval.kind_prior.KindPriorRanker`)."""

KINDS = ("body", "heading", "list_item", "table", "caption", "reference", "footnote", "boilerplate")
#: Kinds that are not evidence in themselves: ranked below body text unless asked for with ``kind=``,
#: and never quoted as answer or brief statements.
APPARATUS = frozenset({"table", "caption", "reference", "boilerplate", "footnote", "heading"})
