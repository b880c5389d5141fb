"""Connector for the WOCAT QCAT API v2: list questionnaires, fetch details, save records.

* Authentication: ``Authorization: Token <token>``; ``Accept: application/json``.
* The list endpoint ``<api>/questionnaires/`` is paged: ``{count, next, previous, results}``;
  pages are followed through ``next`` until it is null.
* 429 and 5xx answers and transport errors are retried with exponential backoff
  (tenacity), honouring ``Retry-After``; 401/403 raise :class:`QCATAuthError` at once.
* ``since`` keeps questionnaires whose ``updated`` timestamp is at or after it.

Records are saved as ``<code>.json`` wrappers ``{code, url, updated, details}`` that
:func:`khub.ingest.wocat.load_record_file` reads, so a harvest is an ordinary folder ingest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin

import httpx
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt, wait_exponential

from khub.urls import http_url


class QCATError(Exception):
    """The QCAT API answered with an error that retrying will not fix."""


class QCATAuthError(QCATError):
    """401/403: the token is missing, wrong or not allowed."""


class _Retryable(Exception):
    def __init__(self, response: httpx.Response | None, message: str):
        self.response = response
        super().__init__(message)


def _wait(base: float, maximum: float) -> Callable[[RetryCallState], float]:
    exponential = wait_exponential(multiplier=base, max=maximum)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.response is not None:
            after = exc.response.headers.get("Retry-After")
            if after and after.replace(".", "", 1).isdigit():
                return min(float(after), maximum)
        return exponential(state)

    return wait


class QCATClient:
    """A small QCAT API v2 client.

    Args:
        api_url: API root, e.g. ``https://qcat.wocat.net/en/api/v2/`` (the ``/en/`` prefix
            sets the label language).
        token: the API token.
        timeout: seconds per request.
        attempts: tries per request for 429/5xx/transport errors.
        backoff: base of the exponential backoff in seconds (0.5, 1, 2, ... capped at 30).
    """

    def __init__(self, api_url: str, token: str | None, timeout: float = 30.0, attempts: int = 5,
                 backoff: float = 0.5, transport: httpx.BaseTransport | None = None):
        self.api_url = api_url.rstrip("/") + "/"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport, follow_redirects=True)
        self._get = retry(
            retry=retry_if_exception(lambda e: isinstance(e, (_Retryable, httpx.TransportError))),
            stop=stop_after_attempt(attempts),
            wait=_wait(backoff, 30.0),
            reraise=True,
        )(self._get_once)

    def _get_once(self, url: str) -> dict:
        response = self._http.get(url)
        if response.status_code in (401, 403):
            raise QCATAuthError(
                f"QCAT refused the request ({response.status_code}) for {url}: check the API token "
                "(--token or KHUB_QCAT_TOKEN)")
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(response, f"QCAT answered {response.status_code} for {url}")
        if response.status_code >= 400:
            raise QCATError(f"QCAT answered {response.status_code} for {url}")
        try:
            return response.json()
        except ValueError as err:
            raise QCATError(f"QCAT returned no JSON for {url}") from err

    def get(self, url_or_path: str) -> dict:
        """GET a JSON document (a path is resolved against the API root's host)."""
        try:
            return self._get(urljoin(self.api_url, url_or_path))
        except _Retryable as err:
            raise QCATError(f"{err} (gave up after retries)") from err
        except httpx.TransportError as err:
            raise QCATError(f"cannot reach QCAT at {url_or_path}: {err}") from err

    def questionnaires(self, since: str | None = None) -> Iterator[dict]:
        """List entries ``{name, updated, code, url, details}``, every page, filtered by ``since``
        (an ISO date or timestamp compared with ``updated``)."""
        url: str | None = urljoin(self.api_url, "questionnaires/")
        while url:
            page = self.get(url)
            for item in page.get("results", []):
                if since is None or (item.get("updated") or "") >= since:
                    yield item
            url = page.get("next")

    def close(self) -> None:
        self._http.close()


def harvest(client: QCATClient, out_dir: Path, since: str | None = None,
            on_record: Callable[[str, str | None], None] | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """Fetch every listed questionnaire's details and save them under ``out_dir``.

    Returns:
        (saved files, failures as (code, reason)). A failing record does not stop the harvest;
        :class:`QCATAuthError` does (no later request can succeed).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    failed: list[tuple[str, str]] = []
    for item in client.questionnaires(since=since):
        code = item.get("code") or "unknown"
        try:
            details = client.get(item.get("details") or f"questionnaires/{code}/")
        except QCATAuthError:
            raise
        except QCATError as err:
            failed.append((code, str(err)))
            if on_record:
                on_record(code, str(err))
            continue
        path = out_dir / f"{code}.json"
        tmp = path.with_suffix(".json.tmp")
        url = http_url(urljoin(client.api_url, item["url"])) if item.get("url") else None  # the page people cite
        tmp.write_text(json.dumps({"code": code, "url": url, "updated": item.get("updated"),
                                   "name": item.get("name"), "details": details}, ensure_ascii=False))
        os.replace(tmp, path)
        saved.append(path)
        if on_record:
            on_record(code, None)
    return saved, failed
