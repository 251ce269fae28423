"""Login throttling counts across gunicorn workers when the limits live in Redis, as the README advises."""
import uuid

import pytest
import redis

from shop.extensions import db
from tests.factories import make_user
from tests.shopper_http import hidden_fields

REDIS_URL = "redis://127.0.0.1:6379/3"


@pytest.fixture
def redis_limits():
    """Return (SHOP_* settings keeping the limits in the local Redis under a prefix of this test's own, its keys)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server to run this test")
    prefix = f"shop-test-{uuid.uuid4().hex}"
    settings = {"SHOP_RATELIMIT_STORAGE_URI": REDIS_URL, "SHOP_RATELIMIT_KEY_PREFIX": prefix}
    yield settings, lambda: list(client.scan_iter(match=f"*{prefix}*"))
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_two_workers_share_the_limit_on_wrong_passwords(app, gunicorn_shop, redis_limits):
    make_user("ann@example.com")
    db.session.commit()
    settings, keys_in_redis = redis_limits
    shop = gunicorn_shop(workers=2, env=settings)
    http = shop.session()
    fields = hidden_fields(http.get(shop.url + "/auth/login").text, "/auth/login")

    answers = [
        http.post(shop.url + "/auth/login", data={**fields, "email": "ann@example.com", "password": "wrong guess!"},
                  allow_redirects=False).status_code
        for _ in range(30)
    ]
    # LOGIN_LIMIT_PER_ACCOUNT is 5 a minute: the sixth guess is refused, whichever worker takes it.
    assert answers == [200] * 5 + [429] * 25
    assert keys_in_redis(), "the workers counted somewhere other than Redis"


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_an_unreachable_redis_falls_back_to_counting_in_the_process(client, app_overrides):
    make_user("ann@example.com")
    db.session.commit()
    fields = hidden_fields(client.get("/auth/login").get_data(as_text=True), "/auth/login")

    answers = [
        client.post("/auth/login", data={**fields, "email": "ann@example.com", "password": "wrong guess!"}).status_code
        for _ in range(7)
    ]
    # Not a 500 on every limited form while Redis is down: the process keeps its own count meanwhile.
    assert answers == [200] * 5 + [429] * 2
