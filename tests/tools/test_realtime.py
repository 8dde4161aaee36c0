"""``POST /api/v1/realtime/client-secret`` against a fake OpenAI on loopback."""
import time

import pytest

from tests.conftest import connect_google

SECRET = "/api/v1/realtime/client-secret"


def test_the_secret_carries_the_users_session_and_nothing_else(tools_platform, fake_openai, google):
    p = tools_platform
    user = p.browser("u1", "o1")
    assert connect_google(p, user, google, "alice@example.com")["status"] == "success"
    before = time.time()
    response = user.post(p.api(SECRET), headers={"Accept-Language": "fr"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"value", "expires_at"}
    assert answer["value"] == fake_openai.issued[-1] and answer["value"].startswith("ek_")
    assert before + 590 <= answer["expires_at"] <= time.time() + 601
    assert fake_openai.api_key not in response.text

    (sent,) = fake_openai.client_secrets
    assert sent["expires_after"] == {"anchor": "created_at", "seconds": 600}
    session = sent["session"]
    assert (session["type"], session["model"], session["audio"]) == (
        "realtime", "gpt-realtime", {"output": {"voice": "marin"}})
    mirrored = user.get(p.api("/api/v1/tools"), headers={"Accept-Language": "fr"}).json()
    assert session["instructions"] == mirrored["instructions"] and session["instructions"].startswith("Tu es Donna")
    assert "Google Calendar (google_calendar__list_events, google_calendar__create_event)" in session["instructions"]
    assert session["tools"] == mirrored["tools"]
    assert "google_calendar__create_event" in [t["name"] for t in session["tools"]]
    assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {fake_openai.api_key}"


def test_model_ttl_and_locale_are_configurable(start_platform, tools_env, fake_openai):
    p = start_platform({**tools_env, "OPENAI_REALTIME_MODEL": "gpt-realtime-2", "OPENAI_REALTIME_SECRET_TTL": "120"})
    response = p.browser("u1", "o1").post(p.api(SECRET), json={"locale": "fr"},
                                          headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    sent = fake_openai.client_secrets[-1]
    assert sent["expires_after"]["seconds"] == 120 and sent["session"]["model"] == "gpt-realtime-2"
    assert sent["session"]["instructions"].startswith("Tu es Donna")


def test_a_session_is_required(tools_platform, fake_openai):
    response = tools_platform.browser().post(tools_platform.api(SECRET))
    assert response.status_code == 401 and response.json()["code"] == 401
    assert fake_openai.client_secrets == []


def test_rate_limited_per_user_with_retry_after(start_platform, tools_env, fake_openai):
    p = start_platform({**tools_env, "REALTIME_RATE_LIMIT": "2/minute"})
    first, second = p.browser("u1", "o1"), p.browser("u2", "o1")
    assert [first.post(p.api(SECRET)).status_code for _ in range(2)] == [200, 200]
    limited = first.post(p.api(SECRET))
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["errors"] == {"reason": "rate_limited", "retry_after": int(limited.headers["Retry-After"])}
    assert second.post(p.api(SECRET)).status_code == 200
    assert len(fake_openai.client_secrets) == 3
    # The limit is the client-secret route's own: the limited user's other calls go on.
    assert [first.get(p.api("/api/v1/tools")).status_code for _ in range(3)] == [200] * 3


@pytest.mark.parametrize("extra, status, message", [
    ({"OPENAI_API_KEY": ""}, 503, "demandez à votre administrateur"),
    ({"OPENAI_API_KEY": "sk-wrong"}, 502, "a refusé de démarrer"),
])
def test_openai_unavailable_or_refusing(start_platform, tools_env, extra, status, message):
    p = start_platform({**tools_env, **extra})
    response = p.browser("u1", "o1").post(p.api(SECRET))
    assert response.status_code == status and message in response.json()["message"]
    assert "sk-" not in response.text


def test_with_redis_the_limit_is_shared_by_every_worker(start_platform, tools_env, redis_url, fake_openai):
    env = {**tools_env, "REDIS_URL": redis_url, "REALTIME_RATE_LIMIT": "2/minute"}
    one, two = start_platform(env), start_platform(env)
    token = {"Authorization": f"Bearer {one.token('u1', 'o1')}"}
    assert one.browser().post(one.api(SECRET), headers=token).status_code == 200
    assert two.browser().post(two.api(SECRET), headers=token).status_code == 200
    assert one.browser().post(one.api(SECRET), headers=token).status_code == 429
    keys = one.ext("redis").keys("LIMITS:LIMITER/connectors/user:*")
    assert keys, "the counter lives in Redis"


def test_no_request_hook_is_spent_on_the_rate_limit(tmp_path):
    """The limit is counted by the client-secret view itself: no route pays a limiter hook."""
    from core.app import create_app
    from tests.conftest import platform_env

    app = create_app(platform_env(f"sqlite:///{tmp_path}/c.db"), instance_path=str(tmp_path / "instance"))
    hooks = [hook for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
             for hooks in registry.values() for hook in hooks]
    assert hooks and not [hook for hook in hooks if "limit" in getattr(hook, "__module__", "") + repr(hook)]
    assert "limiter" not in app.extensions
