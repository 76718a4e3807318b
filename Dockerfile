FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build

# Exact versions with their hashes first (reproducible, and a tampered
# download is refused), then the package itself without resolving again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY rotas ./rotas
# A plain install: the code lands in site-packages, owned by root, so the
# app user cannot change it; the migrations are package data (app/migrations/).
RUN pip install --no-deps . && rm -rf /build

RUN useradd --create-home --uid 10001 crisisroute \
 && mkdir /data && chown crisisroute /data
# The SQLite default (and its landing file) live on a volume that outlives the container.
VOLUME ["/data"]
WORKDIR /data
ENV DATABASE_URL=sqlite:////data/crisisroute.db
USER crisisroute
EXPOSE 8000
# Ready means the database answers and is at the migrations' head.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
CMD ["crisisroute", "serve", "--host", "0.0.0.0", "--port", "8000"]
