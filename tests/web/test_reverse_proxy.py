"""Behind a real reverse proxy: Debian's nginx in front of `paperbridge serve`, all on loopback.

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...), as different PCs
on the school network would. With PAPERBRIDGE_PROXY_HOPS=1 the server must see each client's
own address (so one client's wrong passwords lock out that client only), believe the proxy's
X-Forwarded-Proto (secure cookies over HTTPS), and believe no one else's forwarded headers.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager

from server import ratelimit

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class FromAddress(HTTPAdapter):
    """Connect from a chosen local address: another PC on the network, as far as the server can tell."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **kwargs):
        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block,
                                       source_address=(self.address, 0), **kwargs)


def client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    session.mount("https://", FromAddress(address))
    session.trust_env = False  # no proxy or CA bundle from the environment
    session.verify = False  # the test's own self-signed certificate
    return session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopped: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start on port {port}")


NGINX_CONF = """
daemon off; {user} worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  proxy_set_header Host $http_host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  server {{ listen 127.0.0.1:{http}; location / {{ proxy_pass http://127.0.0.1:{app}; }} }}
  server {{ listen 127.0.0.1:{https} ssl; ssl_certificate {tmp}/cert.pem; ssl_certificate_key {tmp}/key.pem;
           location / {{ proxy_pass http://127.0.0.1:{app}; }} }}
}}
"""


@pytest.fixture
def behind_nginx(db_path, staff, tmp_path):
    """`paperbridge serve` with PAPERBRIDGE_PROXY_HOPS=1, and nginx in front (HTTP and HTTPS)."""
    ports = {"app": free_port(), "http": free_port(), "https": free_port()}
    env = {**os.environ, "PAPERBRIDGE_PROXY_HOPS": "1"}
    proxy_dir = tmp_path / "nginx"
    proxy_dir.mkdir()
    logs = {"server": proxy_dir / "server.log", "nginx": proxy_dir / "error.log"}
    with logs["server"].open("w") as log:
        server = subprocess.Popen([sys.executable, "-c", "from server.cli import main; main()", "--db", str(db_path),
                                   "serve", "--host", "127.0.0.1", "--port", str(ports["app"]), "--no-reminders"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=log)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", str(proxy_dir / "key.pem"), "-out", str(proxy_dir / "cert.pem")],
                   check=True, capture_output=True)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must reach the test's private temp folder
    (proxy_dir / "nginx.conf").write_text(NGINX_CONF.format(tmp=proxy_dir, user=user, **ports))
    nginx = subprocess.Popen([NGINX, "-c", str(proxy_dir / "nginx.conf"), "-p", str(proxy_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(ports["app"], server, "paperbridge serve", logs["server"])
        wait_for(ports["http"], nginx, "nginx", logs["nginx"])
        wait_for(ports["https"], nginx, "nginx", logs["nginx"])
        yield {"http": f"http://127.0.0.1:{ports['http']}", "https": f"https://127.0.0.1:{ports['https']}",
               "direct": f"http://127.0.0.1:{ports['app']}"}
    finally:
        for process in (nginx, server):
            process.terminate()
            process.wait(timeout=20)


def sign_in(session: requests.Session, base: str, username: str, password: str, **headers) -> requests.Response:
    page = session.get(f"{base}/login")
    token = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', page.text).group(1)
    return session.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
                        headers={"Referer": f"{base}/login", **headers}, allow_redirects=False)  # as a browser does


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_one_client_locked_out_behind_the_proxy_does_not_lock_out_the_school(behind_nginx):
    attacker, office = client("127.0.0.2"), client("127.0.0.3")
    for attempt in range(ratelimit.LOGIN.attempts):
        forged = {"X-Forwarded-For": f"10.0.0.{attempt}"}  # nginx appends the real address; only that counts
        assert sign_in(attacker, behind_nginx["http"], "nobody", "wrong", **forged).status_code == 401
    assert sign_in(attacker, behind_nginx["http"], "nobody", "wrong", **{"X-Forwarded-For": "10.9.9.9"}).status_code == 429
    assert sign_in(office, behind_nginx["http"], "office", "office-pass").status_code == 302


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_session_cookie_is_secure_over_https_through_the_proxy(behind_nginx):
    over_https = sign_in(client("127.0.0.2"), behind_nginx["https"], "office", "office-pass")
    assert over_https.status_code == 302
    assert "secure" in over_https.headers["Set-Cookie"].lower()
    over_http = sign_in(client("127.0.0.3"), behind_nginx["http"], "office", "office-pass")
    assert over_http.status_code == 302 and "secure" not in over_http.headers["Set-Cookie"].lower()


def test_forwarded_headers_from_anyone_but_the_proxy_are_not_believed(behind_nginx):
    """A PC that reaches the server's own port directly cannot pose as others, or as HTTPS."""
    direct = client("127.0.0.4")
    for attempt in range(ratelimit.LOGIN.attempts):
        forged = {"X-Forwarded-For": f"10.0.1.{attempt}", "X-Forwarded-Proto": "https"}
        answer = sign_in(direct, behind_nginx["direct"], "nobody", "wrong", **forged)
        assert answer.status_code == 401
    assert sign_in(direct, behind_nginx["direct"], "nobody", "wrong", **{"X-Forwarded-For": "10.0.9.9"}).status_code == 429
    cookie = sign_in(client("127.0.0.5"), behind_nginx["direct"], "office", "office-pass",
                     **{"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    assert "secure" not in cookie.lower()
