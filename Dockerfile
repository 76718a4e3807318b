FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/crisisroute

RUN useradd --create-home --uid 10001 crisisroute
COPY pyproject.toml README.md ./
COPY app ./app
COPY rotas ./rotas
# The migrations are package data (app/migrations/), so a plain install runs them.
RUN pip install . && chown -R crisisroute /srv/crisisroute

USER crisisroute
ENV DATABASE_URL=sqlite:////home/crisisroute/crisisroute.db
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["crisisroute", "serve", "--host", "0.0.0.0", "--port", "8000"]
