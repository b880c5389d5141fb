"""An in-memory stand-in for an OpenSearch 2.x node, behind opensearch-py's real client.

It replaces only the HTTP connection (:class:`FakeConnection`, an opensearch-py ``Connection``),
so the client, its helpers (``streaming_bulk``, ``scan``) and its error classes are the real
ones, and the store under test sends the requests it would send to a cluster. It answers the
endpoints the store uses with the response shapes of the OpenSearch REST API reference
(``_bulk`` items with per-item ``status``/``error``, ``_msearch`` sub-responses, 409
``version_conflict_engine_exception``, 400 ``resource_already_exists_exception``...), keeps
indices, aliases, mappings' ``_meta`` and documents, and lets a test inject faults. It does not
score: searches other than ``match_all``/``term``/``terms`` filters are out of its scope (the
contract tests run those against a live cluster).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Callable
from urllib.parse import unquote

from opensearchpy import Connection, OpenSearch

#: A fault: ``(method, path, body) -> (status, response) or None`` (None: answer normally).
Fault = Callable[[str, str, Any], "tuple[int, dict] | None"]


class FakeCluster:
    """Indices (``{name: {"docs", "aliases", "meta", "settings"}}``), templates, a request log
    (``(method, path, params, body)``), and faults tried before every request."""

    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict, Any]] = []
        self.faults: list[Fault] = []

    # ------------------------------------------------------------ client
    def client(self) -> OpenSearch:
        """A real ``opensearchpy.OpenSearch`` whose connection is this cluster."""
        cluster = self

        class Bound(FakeConnection):
            def __init__(self, **kwargs: Any):
                super().__init__(**kwargs)
                self.cluster = cluster

        return OpenSearch(hosts=[{"host": "fake", "port": 9200}], connection_class=Bound, max_retries=0)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested so far (of one method)."""
        return [p for m, p, _, _ in self.requests if method is None or m == method]

    # ---------------------------------------------------------- helpers
    def resolve(self, name: str) -> list[str]:
        """Concrete indices named by an index name, alias or pattern."""
        out = []
        for idx, info in self.indices.items():
            if fnmatch.fnmatch(idx, name) or any(fnmatch.fnmatch(a, name) for a in info["aliases"]):
                out.append(idx)
        return out

    def _create(self, name: str, body: dict) -> None:
        meta: dict = {}
        settings: dict = {}
        for pattern, template in self.templates.items():
            if any(fnmatch.fnmatch(name, p) for p in template["index_patterns"]):
                meta = dict(template["template"].get("mappings", {}).get("_meta") or {})
                settings = json.loads(json.dumps(template["template"].get("settings", {})))
        meta.update((body.get("mappings") or {}).get("_meta") or {})
        settings.setdefault("index", {}).update((body.get("settings") or {}).get("index", {}))
        self.indices[name] = {"docs": {}, "aliases": set(body.get("aliases") or {}), "meta": meta,
                              "settings": settings}

    @staticmethod
    def _error(status: int, kind: str, reason: str) -> tuple[int, dict]:
        return status, {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
                        "status": status}

    def _one(self, name: str) -> str | None:
        found = self.resolve(name)
        return found[0] if len(found) == 1 else None

    @staticmethod
    def _matches(source: dict, query: dict | None) -> bool:
        if not query or "match_all" in query:
            return True
        if "term" in query:
            (field, value), = query["term"].items()
            got = source.get(field)
            if field == "terms" and isinstance(got, str):  # the whitespace-analysed text field
                return value in got.split()
            return value in got if isinstance(got, list) else got == value
        if "terms" in query:
            (field, values), = query["terms"].items()
            got = source.get(field)
            got = got if isinstance(got, list) else [got]
            return any(v in got for v in values)
        if "bool" in query:
            b = query["bool"]
            return all(FakeCluster._matches(source, q) for q in b.get("filter", []) + b.get("must", []))
        raise NotImplementedError(f"the fake cluster does not score queries: {query}")

    # ----------------------------------------------------------- routing
    def handle(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any]:
        """Answer one request: ``(status, JSON body)`` (HEAD: body None)."""
        self.requests.append((method, path, dict(params or {}), body))
        for fault in self.faults:
            answer = fault(method, path, body)
            if answer is not None:
                return answer
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if not parts:
            return 200, {"name": "fake", "cluster_name": "fake", "version": {"number": "2.17.1",
                                                                             "distribution": "opensearch"}}
        if parts[0] == "_bulk":
            return self._bulk(body)
        if parts[0] == "_msearch":
            return self._msearch(body)
        if parts[0] == "_index_template":
            self.templates[parts[1]] = body
            return 200, {"acknowledged": True}
        if parts[0] == "_aliases":
            return self._aliases(body)
        if parts[0] == "_search" and parts[1:] == ["scroll"]:
            return 200, ({"succeeded": True, "num_freed": 1} if method == "DELETE" else
                         {"_scroll_id": "s", "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                          "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}})
        name, rest = parts[0], parts[1:]
        if not rest:
            return self._index_op(method, name, body)
        return self._doc_op(method, name, rest, params or {}, body)

    def _index_op(self, method: str, name: str, body: Any) -> tuple[int, Any]:
        found = self.resolve(name)
        if method == "HEAD":
            return (200 if found else 404), None
        if method == "PUT":
            if name in self.indices or any(name in i["aliases"] for i in self.indices.values()):
                return self._error(400, "resource_already_exists_exception", f"index [{name}] already exists")
            self._create(name, body or {})
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if method == "DELETE":
            if not found:
                return self._error(404, "index_not_found_exception", f"no such index [{name}]")
            for idx in found:
                del self.indices[idx]
            return 200, {"acknowledged": True}
        if method == "GET":
            return 200, {idx: {"aliases": {a: {} for a in self.indices[idx]["aliases"]},
                               "mappings": {"_meta": self.indices[idx]["meta"]},
                               "settings": self.indices[idx]["settings"]} for idx in found}
        raise NotImplementedError(f"{method} /{name}")

    def _doc_op(self, method: str, name: str, rest: list[str], params: dict, body: Any) -> tuple[int, Any]:
        idx = self._one(name)
        op = rest[0]
        if idx is None and op not in ("_search",):
            return self._error(404, "index_not_found_exception", f"no such index [{name}]")
        if op == "_mapping":
            if method == "GET":
                return 200, {idx: {"mappings": {"_meta": self.indices[idx]["meta"]}}}
            self.indices[idx]["meta"].update(body.get("_meta") or {})
            return 200, {"acknowledged": True}
        if op == "_settings":
            self.indices[idx]["settings"].setdefault("index", {}).update(body.get("index", {}))
            return 200, {"acknowledged": True}
        if op in ("_refresh", "_forcemerge"):
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if op == "_count":
            docs = self.indices[idx]["docs"].values()
            query = (body or {}).get("query")
            return 200, {"count": sum(self._matches(d, query) for d in docs)}
        if op == "_doc":
            docs = self.indices[idx]["docs"]
            doc_id = rest[1]
            if method == "GET":
                if doc_id not in docs:
                    return 404, {"_index": idx, "_id": doc_id, "found": False}
                return 200, {"_index": idx, "_id": doc_id, "found": True, "_source": docs[doc_id]}
            if method in ("PUT", "POST"):
                created = doc_id not in docs
                docs[doc_id] = body
                return (201 if created else 200), {"_index": idx, "_id": doc_id,
                                                   "result": "created" if created else "updated"}
            if method == "DELETE":
                if doc_id not in docs:
                    return 404, {"_index": idx, "_id": doc_id, "result": "not_found"}
                del docs[doc_id]
                return 200, {"_index": idx, "_id": doc_id, "result": "deleted"}
        if op == "_update":
            docs = self.indices[idx]["docs"]
            doc_id = rest[1]
            if doc_id not in docs:
                docs[doc_id] = dict(body["upsert"])
            elif body.get("script", {}).get("source") == "ctx._source.value += 1":
                docs[doc_id]["value"] += 1
            else:
                docs[doc_id].update(body.get("doc", {}))
            return 200, {"_index": idx, "_id": doc_id, "result": "updated"}
        if op == "_mget":
            docs = self.indices[idx]["docs"]
            return 200, {"docs": [{"_index": idx, "_id": i, "found": True, "_source": docs[i]} if i in docs
                                  else {"_index": idx, "_id": i, "found": False} for i in body["ids"]]}
        if op == "_search":
            query = (body or {}).get("query")
            knn = (query or {}).get("knn", {}).get("embedding")
            hits = []
            for i in self.resolve(name):
                for doc_id, src in self.indices[i]["docs"].items():
                    if knn is not None:  # exact cosine ranking, filters applied first
                        vec = src.get("embedding")
                        if vec is None or not self._matches(src, knn.get("filter")):
                            continue
                        dot = sum(a * b for a, b in zip(vec, knn["vector"]))
                        norm = (sum(a * a for a in vec) * sum(b * b for b in knn["vector"])) ** 0.5
                        hits.append({"_index": i, "_id": doc_id, "_score": (1 + dot / norm) / 2, "_source": src})
                    elif self._matches(src, query):
                        hits.append({"_index": i, "_id": doc_id, "_score": 1.0, "_source": src})
            if knn is not None:
                hits = sorted(hits, key=lambda h: -h["_score"])[:knn["k"]]
            if (body or {}).get("aggs"):
                return 200, {"took": 1, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                             "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": []},
                             "aggregations": self._aggregate(body["aggs"], [h["_source"] for h in hits])}
            return 200, {"_scroll_id": "s", "took": 1, "timed_out": False,
                         "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                         "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}
        if op == "_delete_by_query":
            docs = self.indices[idx]["docs"]
            gone = [i for i, d in docs.items() if self._matches(d, body.get("query"))]
            for i in gone:
                del docs[i]
            return 200, {"deleted": len(gone), "failures": []}
        raise NotImplementedError(f"{method} /{name}/{'/'.join(rest)}")

    def _aggregate(self, aggs: dict, sources: list[dict]) -> dict:
        """``terms`` (with sub-aggregations) and ``cardinality`` aggregations, exactly."""
        out: dict[str, Any] = {}
        for name, spec in aggs.items():
            if "cardinality" in spec:
                field = spec["cardinality"]["field"]
                values = set()
                for src in sources:
                    got = src.get(field)
                    values.update(got if isinstance(got, list) else [] if got is None else [got])
                out[name] = {"value": len(values)}
            elif "terms" in spec:
                field = spec["terms"]["field"]
                groups: dict[Any, list[dict]] = {}
                for src in sources:
                    values = src.get(field)
                    for v in values if isinstance(values, list) else [values]:
                        if v is not None:
                            groups.setdefault(v, []).append(src)
                ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:spec["terms"]["size"]]
                out[name] = {"buckets": [{"key": k, "doc_count": len(v), **self._aggregate(spec.get("aggs", {}), v)}
                                         for k, v in ordered]}
            else:
                raise NotImplementedError(f"the fake cluster does not aggregate {spec}")
        return out

    def _aliases(self, body: dict) -> tuple[int, Any]:
        for action in body["actions"]:
            (kind, spec), = action.items()
            if spec["index"] not in self.indices:
                return self._error(404, "index_not_found_exception", f"no such index [{spec['index']}]")
        for action in body["actions"]:  # all or nothing, as OpenSearch applies them
            (kind, spec), = action.items()
            aliases = self.indices[spec["index"]]["aliases"]
            (aliases.add if kind == "add" else aliases.discard)(spec["alias"])
        return 200, {"acknowledged": True}

    def _bulk(self, lines: list[Any]) -> tuple[int, Any]:
        items = []
        i = 0
        while i < len(lines):
            (op, spec), = lines[i].items()
            source = lines[i + 1] if op != "delete" else None
            i += 1 if op == "delete" else 2
            idx = self._one(spec["_index"])
            doc_id = spec["_id"]
            result: dict[str, Any] = {"_index": spec["_index"], "_id": doc_id}
            docs = self.indices[idx]["docs"] if idx else None
            if docs is None:
                result.update(status=404, error={"type": "index_not_found_exception", "reason": "no such index"})
            elif op == "create" and doc_id in docs:
                result.update(status=409, error={"type": "version_conflict_engine_exception",
                                                 "reason": f"[{doc_id}]: version conflict, document already exists"})
            elif op in ("create", "index"):
                result.update(status=201 if doc_id not in docs else 200, result="created")
                docs[doc_id] = source
            elif op == "delete":
                found = doc_id in docs
                docs.pop(doc_id, None)
                result.update(status=200 if found else 404, result="deleted" if found else "not_found")
            elif op == "update":
                if doc_id not in docs:
                    result.update(status=404, error={"type": "document_missing_exception", "reason": "missing"})
                else:
                    docs[doc_id].update(source["doc"])
                    result.update(status=200, result="updated")
            items.append({op: result})
        errors = any(not 200 <= next(iter(it.values()))["status"] < 300 for it in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _msearch(self, lines: list[Any]) -> tuple[int, Any]:
        responses = []
        for header, body in zip(lines[::2], lines[1::2]):
            status, response = self._doc_op("POST", header["index"], ["_search"], {}, body)
            responses.append({**response, "status": status})
        return 200, {"took": 1, "responses": responses}


class FakeConnection(Connection):
    """An opensearch-py ``Connection`` answered by a :class:`FakeCluster` (set as ``cluster``)."""

    cluster: FakeCluster

    def perform_request(self, method: str, url: str, params: Any = None, body: Any = None, timeout: Any = None,
                        ignore: Any = (), headers: Any = None) -> Any:
        path = url.split("?", 1)[0]
        decoded: Any = None
        if body:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            lines = [json.loads(x) for x in text.splitlines() if x.strip()]
            decoded = lines if path.endswith(("_bulk", "_msearch")) else lines[0]
        params = {k: v.decode() if isinstance(v, bytes) else v for k, v in (params or {}).items()}
        status, response = self.cluster.handle(method, path, params, decoded)
        raw = "" if response is None else json.dumps(response)
        if not (200 <= status < 300) and status not in (ignore or ()):
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json"}, raw
