# khub: the search page and HTTP API, with OCR for scanned reports.
#   docker compose up            (with its OpenSearch cluster: docker-compose.yml)
#   docker build -t khub . && docker run -p 127.0.0.1:8000:8000 khub   (embedded store)
FROM python:3.11-slim-bookworm

# Tesseract reads scanned and garbled PDF pages in the six UN languages (optional for khub,
# needed for national reports that are scans).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-ara tesseract-ocr-chi-sim \
      tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-rus tesseract-ocr-spa \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 khub
WORKDIR /app
COPY pyproject.toml README.md ./
COPY khub khub
COPY ingest ingest
COPY index index
COPY api api
COPY ui ui
RUN pip install --no-cache-dir '.[opensearch]'
COPY corpora corpora
COPY docker/entrypoint.sh /usr/local/bin/khub-entrypoint

ENV KHUB_DATA_DIR=/data KHUB_API_HOST=0.0.0.0 KHUB_API_PORT=8000
RUN mkdir -p /data && chown khub /data
USER khub
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1
ENTRYPOINT ["khub-entrypoint"]
CMD ["khub", "serve", "--no-example"]
