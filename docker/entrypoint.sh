#!/bin/sh
# First start: ingest the bundled corpus (KHUB_INGEST_ON_START, default /app/corpora; empty to
# skip) into the configured store, then run the command (khub serve). Later starts skip it (an
# ingest is incremental anyway: unchanged files are not re-embedded). A file that fails does not
# stop the server (exit 1: some files failed); nothing stored at all (exit 2) does.
marker="${KHUB_DATA_DIR:-/data}/.ingested"
paths="${KHUB_INGEST_ON_START-/app/corpora}"
if [ -n "$paths" ] && [ ! -f "$marker" ]; then
  # several paths may be given, separated by spaces
  # shellcheck disable=SC2086
  khub ingest $paths
  code=$?
  if [ "$code" -gt 1 ]; then
    echo "khub: the first ingest stored nothing (exit $code)" >&2
    exit "$code"
  fi
  touch "$marker"
fi
exec "$@"
