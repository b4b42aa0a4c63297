async def test_health(client):
    response = await client.get("/health")
    assert response.json() == {"status": "ok"}


async def test_live_ping(connect, alice):
    sock = await connect(alice)
    ack = await sock.call("ping", {"timestamp": 5})
    assert ack["timestamp"] == 5
