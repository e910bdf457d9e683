"""Rate limits on everything guessable: sign-in, family links, API and sync tokens, enrolment codes."""

from server import devices, links, ratelimit, users
from server.ratelimit import Limit, RateLimiter
from tests.conftest import csrf_token


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_window_slides():
    clock = FakeClock()
    guard = RateLimiter(Limit("t", 3, 60), now=clock)
    assert [guard.hit("a") for _ in range(3)] == [0, 0, 0]
    assert guard.hit("a") == 60 and guard.blocked_for("a") == 60
    assert guard.hit("b") == 0  # other keys are not affected
    clock.now += 30
    assert guard.blocked_for("a") == 30
    clock.now += 30.5
    assert guard.blocked_for("a") == 0 and guard.hit("a") == 0


def test_memory_stays_bounded():
    clock = FakeClock()
    guard = RateLimiter(Limit("t", 1, 10), now=clock)
    for i in range(RateLimiter.MAX_KEYS):
        guard.hit(f"k{i}")
    clock.now += 11
    guard.hit("late")
    guard.hit("later")
    assert len(guard._hits) <= 2


def test_sign_in_attempts_per_address(client, staff):
    token = csrf_token(client)
    for i in range(ratelimit.LOGIN.attempts):
        reply = client.post("/login", data={"username": f"nobody{i}", "password": "x", "csrf_token": token})
        assert reply.status_code == 401
    blocked = client.post("/login", data={"username": "office", "password": "office-pass", "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "登录尝试次数过多" in blocked.get_data(as_text=True)
    other = client.post("/login", data={"username": "office", "password": "office-pass", "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 302  # another computer is not locked out


def test_guessing_family_links_is_slowed(client, db, school):
    good = links.make_token(db, school["S1"])
    for i in range(ratelimit.BAD_LINK.attempts):
        assert client.get(f"/f/forged{i}").status_code == 404
    assert client.get(f"/f/{good}").status_code == 429
    assert client.get(f"/f/{good}", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 200


def test_guessing_api_tokens_is_slowed(client, db, school):
    token = users.add_integration(db, "class app")
    for i in range(ratelimit.BAD_LINK.attempts):
        reply = client.post("/api/receipts", json={"receipts": []}, headers={"Authorization": f"Bearer nope{i}"})
        assert reply.status_code == 401
    blocked = client.post("/api/receipts", json={"receipts": []}, headers={"Authorization": f"Bearer {token}"})
    assert blocked.status_code == 429 and blocked.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in blocked.headers


def test_enrolment_codes_and_sync_requests(client, db, school):
    for _ in range(ratelimit.ENROL.attempts):
        assert client.post("/api/sync/enroll", json={"code": "00000000"}).status_code == 403
    code = devices.new_code(db, "Desk")
    assert client.post("/api/sync/enroll", json={"code": code}).status_code == 429
    enrolled = client.post("/api/sync/enroll", json={"code": code}, environ_base={"REMOTE_ADDR": "10.2.2.2"})
    token = enrolled.get_json()["token"]
    answers = [client.get("/api/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code
               for _ in range(ratelimit.SYNC.attempts + 1)]
    assert answers[:-1] == [200] * ratelimit.SYNC.attempts and answers[-1] == 429


def test_behind_a_proxy_the_client_address_counts(db_path, staff):
    from server.app import create_app

    client = create_app({"DATABASE": str(db_path), "TESTING": True, "PROXY_HOPS": 1}).test_client()
    token = csrf_token(client)
    for i in range(ratelimit.LOGIN.attempts):
        client.post("/login", data={"username": f"x{i}", "password": "x", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.7"})
    other = client.post("/login", data={"username": "office", "password": "office-pass", "csrf_token": token},
                        headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 302  # the proxy's own address is not what gets locked out


def test_a_burst_of_parallel_sign_ins_gets_no_more_checks_than_the_limit(app, staff):
    """Forty wrong passwords at once over real HTTP: the limit is taken before the check, so
    exactly LOGIN.attempts are checked and the rest are refused, however they interleave."""
    import http.cookiejar
    import re
    import urllib.error
    import urllib.parse
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from server.serving import BackgroundServer

    with BackgroundServer(app, threads=8) as server:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(server.url + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        def attempt(i: int) -> int:
            body = urllib.parse.urlencode({"username": "office", "password": f"wrong{i}", "csrf_token": token}).encode()
            try:
                return opener.open(server.url + "/login", data=body).status
            except urllib.error.HTTPError as answer:
                return answer.code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(attempt, range(40)))
    assert statuses.count(401) == ratelimit.LOGIN.attempts and statuses.count(429) == 40 - ratelimit.LOGIN.attempts


def test_a_right_password_gives_its_attempt_back(client, staff):
    token = csrf_token(client)
    for _ in range(ratelimit.LOGIN.attempts - 1):
        client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token})
    for _ in range(3):  # colleagues signing in at the same office computer do not use up the count
        assert client.post("/login", data={"username": "office", "password": "office-pass",
                                           "csrf_token": csrf_token(client)}).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client)
    assert client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token}).status_code == 401
    assert client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token}).status_code == 429


def test_the_family_link_limit_answers_in_the_family_language_with_retry_after(client, db, school):
    for i in range(ratelimit.BAD_LINK.attempts):
        client.get(f"/f/forged{i}")
    for language, words in (("zh-CN", "错误链接"), ("zh-TW", "錯誤連結"), ("en", "Too many wrong links")):
        reply = client.get("/f/forged", headers={"Accept-Language": language})
        assert reply.status_code == 429 and int(reply.headers["Retry-After"]) > 0
        assert words in reply.get_data(as_text=True), language
