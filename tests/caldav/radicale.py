"""A real CalDAV server for the tests: Radicale (from PyPI) on a free loopback port.

:class:`Radicale` runs ``python -m radicale`` in a temporary directory with htpasswd
authentication (plain passwords) and owner-only rights. :class:`Proxy` sits in front of it and
records every request the platform sends, and can answer the next matching requests with an
injected failure (optionally after forwarding them, as when a write lands but its answer is
lost), so that tests can count requests and break the network on purpose.
"""
from __future__ import annotations

import base64
import http.client
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import caldav

from tests.services import LOOPBACK, free_port

CONFIG = """\
[server]
hosts = {host}:{port}
[auth]
type = htpasswd
htpasswd_filename = {htpasswd}
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {storage}
[logging]
level = warning
"""


MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>{name}</D:displayname>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>"""


class Radicale:
    """One Radicale server; ``add_user`` writes the htpasswd file it reads on every login."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.htpasswd = directory / "users"
        self.users: dict[str, str] = {}
        self._process: subprocess.Popen | None = None

    def add_user(self, name: str, password: str) -> None:
        """Let ``name`` log in with ``password``."""
        self.users[name] = password
        self.htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.htpasswd.touch()
        config = self.directory / "config"
        config.write_text(CONFIG.format(host=LOOPBACK, port=self.port, htpasswd=self.htpasswd,
                                        storage=self.directory / "collections"))
        log = open(self.directory / "radicale.log", "wb")
        self._process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                         stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=1)
                connection.request("GET", "/.well-known/caldav")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Radicale did not start:\n" + (self.directory / "radicale.log").read_text()) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def client(self, user: str) -> caldav.DAVClient:
        """A separate CalDAV client logged in as ``user`` (to read back what the platform wrote)."""
        return caldav.DAVClient(url=f"{self.url}/{user}/", username=user, password=self.users[user],
                                enable_rfc6764=False)

    def make_calendar(self, user: str, name: str, slug: str) -> None:
        """Create calendar ``slug`` (display name ``name``) of ``user`` with one MKCALENDAR."""
        body = MKCALENDAR.format(name=name).encode()
        token = base64.b64encode(f"{user}:{self.users[user]}".encode()).decode()
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
        connection.request("MKCALENDAR", f"/{user}/{slug}/", body=body,
                           headers={"Authorization": f"Basic {token}", "Content-Type": "application/xml"})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 201, response.status

    def events(self, user: str, slug: str) -> list:
        """The iCalendar objects in ``user``'s calendar ``slug``, as :class:`icalendar.Calendar`."""
        with self.client(user) as client:
            calendar = client.calendar(url=f"{self.url}/{user}/{slug}/")
            return [event.icalendar_instance for event in calendar.events()]


@dataclass
class Recorded:
    """One request that went through the proxy (``status`` 0 until the answer is sent back)."""

    method: str
    path: str
    headers: dict
    status: int


@dataclass
class Injection:
    """Answer the next ``times`` requests with ``method`` (any when None) with ``status``;
    ``forward`` sends them on first (the server acts; its answer is lost)."""

    status: int
    method: str | None
    times: int
    forward: bool


class Proxy:
    """An HTTP proxy on loopback in front of ``target`` that records and can break requests."""

    def __init__(self, target: Radicale):
        self.target = target
        self.requests: list[Recorded] = []
        self.injections: list[Injection] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                injected = proxy._take(self.command)
                record = Recorded(self.command, self.path, dict(self.headers.items()), 0)
                with proxy.lock:
                    proxy.requests.append(record)  # before forwarding: the server may act on it at once
                status, answer_headers, answer = 0, {}, b""
                if injected is None or injected.forward:
                    connection = http.client.HTTPConnection(LOOPBACK, target.port, timeout=10)
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    status, answer = response.status, response.read()
                    answer_headers = {k: v for k, v in response.getheaders()
                                      if k.lower() not in ("connection", "transfer-encoding", "content-length")}
                    connection.close()
                if injected is not None:
                    status, answer_headers, answer = injected.status, {"Content-Type": "text/plain"}, b"injected"
                record.status = status  # set before the client gets the answer
                self.send_response(status)
                for name, value in answer_headers.items():
                    if name.lower() == "location":
                        value = value.replace(target.url, proxy.url)
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = do_MKCALENDAR = handle_one
            do_HEAD = do_POST = do_PROPPATCH = handle_one

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _take(self, method: str) -> Injection | None:
        with self.lock:
            for injection in self.injections:
                if injection.method in (None, method) and injection.times > 0:
                    injection.times -= 1
                    return injection
        return None

    def inject(self, status: int, method: str | None = None, times: int = 1, forward: bool = False) -> None:
        """Answer the next ``times`` requests (of ``method``) with ``status`` (after forwarding them)."""
        with self.lock:
            self.injections.append(Injection(status, method, times, forward))

    def writes(self) -> list[Recorded]:
        """The PUT and DELETE requests seen so far."""
        with self.lock:
            return [r for r in self.requests if r.method in ("PUT", "DELETE")]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
