from tests.factories import user_and_login


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_organiser_dashboard(app, client):
    user_and_login(app, client)
    response = client.get("/")
    assert response.status_code == 200
    assert "组织方工作台" in response.get_data(as_text=True)
