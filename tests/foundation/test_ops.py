from fastapi.testclient import TestClient

from app.db import Database, make_engine
from app.main import create_app
from tests.conftest import make_settings


def test_healthz_readyz_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "crisisroute_http_requests_total" in metrics.text
    assert client.get("/docs").status_code == 200
    assert "/healthz" in client.get("/openapi.json").json()["paths"]


def test_readyz_503_when_database_unreachable():
    db = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    app = create_app(make_settings(), db=db, run_worker=False, configure_logs=False)
    with TestClient(app) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_readyz_503_when_not_migrated(tmp_path):
    db = Database(make_engine(f"sqlite:///{tmp_path}/empty.db"))
    app = create_app(make_settings(), db=db, run_worker=False, configure_logs=False)
    with TestClient(app) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert "migrations" in response.json()["database"]
