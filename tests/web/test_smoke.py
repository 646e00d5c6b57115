def test_front_page(client):
    assert client.get("/").status_code == 200
