# syntax=docker/dockerfile:1
# Build the wheel in one stage, install it in a slim runtime stage that runs as a non-root user.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY config ./config
COPY templates ./templates
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAPERMAIL_DATA_DIR=/data \
    PAPERMAIL_WEB_HOST=0.0.0.0 \
    PAPERMAIL_WEB_PORT=8000
RUN useradd --create-home --uid 10001 papermail \
    && mkdir -p /data && chown papermail:papermail /data
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
USER papermail
WORKDIR /home/papermail
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["papermail", "web"]
