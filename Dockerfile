# Production image: non-root, uvicorn with several workers, migrations run by the compose service on start.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system yumiao && useradd --system --gid yumiao --home-dir /app --shell /usr/sbin/nologin yumiao
WORKDIR /app

COPY pyproject.toml README.md ./
COPY app ./app
COPY alembic ./alembic
COPY alembic.ini ./
RUN pip install . && chown -R yumiao:yumiao /app

USER yumiao
EXPOSE 8000
ENV YUMIAO_LOG_JSON=true WEB_CONCURRENCY=4

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["sh", "-c", "yumiao migrate && exec uvicorn app.asgi:app --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --proxy-headers --no-access-log --timeout-graceful-shutdown 30"]
