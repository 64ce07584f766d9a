# Production image: gunicorn behind a reverse proxy, PostgreSQL and Redis outside the container.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RUHUI_ENV=production \
    WEB_CONCURRENCY=2 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/ruhui-metrics

RUN groupadd --system ruhui && useradd --system --gid ruhui --home-dir /app --shell /usr/sbin/nologin ruhui
WORKDIR /app

# Dependencies in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=ruhui:ruhui app ./app
COPY --chown=ruhui:ruhui migrations ./migrations
COPY --chown=ruhui:ruhui wsgi.py alembic.ini gunicorn.conf.py ./
RUN mkdir -p /app/instance && chown ruhui:ruhui /app/instance

USER ruhui
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2)" || exit 1

# Migrate, then hand the process over to gunicorn so it receives signals directly.
CMD ["sh", "-c", "flask --app wsgi db upgrade && exec gunicorn --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY} wsgi:app"]
