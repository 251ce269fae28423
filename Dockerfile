# The shop served by gunicorn as a non-root user; compose.yaml runs it with Postgres and Redis.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    SHOP_INSTANCE_PATH=/data/instance

RUN useradd --system --uid 10001 --user-group shop \
    && mkdir -p /data/instance \
    && chown shop:shop /data/instance

# Dependencies before the code, so a code change reuses this layer.
COPY requirements.txt /app/requirements.txt
RUN python3 -m venv /opt/venv && pip install -r /app/requirements.txt

WORKDIR /app
COPY wsgi.py gunicorn.conf.py /app/
COPY shop /app/shop
COPY migrations /app/migrations
COPY templates /app/templates
COPY static /app/static

USER shop
# The generated secret key (when SHOP_SECRET_KEY is unset), uploaded images and backups live here.
VOLUME /data/instance
EXPOSE 8000

# The shop answers only to its own host name, so the probe sends SHOP_BASE_URL's (curl is not in the slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python3", "-c", "import os, urllib.parse, urllib.request; host = urllib.parse.urlsplit(os.environ.get('SHOP_BASE_URL') or 'http://localhost').netloc; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
