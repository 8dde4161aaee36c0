# The platform as one image for hosts other than Render (which builds from render.yaml).
#   docker build -t connectors .
#   docker run --env-file prod.env connectors connectors db upgrade      # once per deploy
#   docker run --env-file prod.env -p 8000:8000 connectors               # web (gunicorn on $PORT)
#   docker run --env-file prod.env connectors connectors worker          # background worker
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production PORT=8000

WORKDIR /app
# Runtime dependencies only (no test extras); the psycopg and cryptography wheels need no compiler.
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY core core
COPY plugins plugins
COPY voice_tools voice_tools
COPY migrations migrations
RUN pip install . && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin connectors
# Only the instance folder is writable by the app, and it holds nothing in production.
RUN mkdir -p /app/instance && chown connectors /app/instance
USER connectors
ENV CONNECTORS_INSTANCE_PATH=/app/instance

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "core.app:create_app()"]
