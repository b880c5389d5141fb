"""Answer stage: search, cited extractive answers and evaluation, over HTTP (FastAPI) and
for the CLI. Imports from ``index`` and ``ingest``; nothing upstream imports from here."""
