"""The lean access logger writes exactly the lines gunicorn's own logger writes."""
import datetime
import runpy
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from core.accesslog import AccessLogger

ROOT = Path(__file__).resolve().parent.parent
OUR_FORMAT = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["access_log_format"]


class Response:
    status = "201 CREATED"
    sent = 1234
    headers = [("Content-Type", "application/json"), ("X-Request-Id", "r-42")]


class Request:
    headers = [("HOST", "example.test"), ("USER-AGENT", 'curl/8 "quoted"'), ("AUTHORIZATION", "Bearer abc")]


ENVIRON = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "POST", "PATH_INFO": '/api/v1/tools/x"y/invoke',
           "QUERY_STRING": "locale=fr", "RAW_URI": "/api/v1/tools/x/invoke?locale=fr", "SERVER_PROTOCOL": "HTTP/1.1",
           "HTTP_USER_AGENT": 'curl/8 "quoted"', "HTTP_AUTHORIZATION": "Bearer abc", "wsgi.url_scheme": "https"}


def lines(logger_class, access_log_format, capsys, response=Response, request_time=datetime.timedelta(0, 2, 345678)):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", access_log_format)
    logger = logger_class(config)
    logger.access(response, Request, ENVIRON, request_time)
    return capsys.readouterr().out


@pytest.mark.parametrize("access_log_format", [
    OUR_FORMAT,
    Config().access_log_format,  # gunicorn's default, with %(t)s, %(r)s, %(f)s, %(a)s…
    '%(h)s %({user-agent}i)s %({x-request-id}o)s %({wsgi.url_scheme}e)s %(q)s %(D)s %(L)s %(B)s %(nope)s',
])
def test_same_lines_as_gunicorn(access_log_format, capsys, monkeypatch):
    monkeypatch.setattr(Logger, "now", lambda self: "[23/Nov/2026:16:00:00 +0000]")  # both log the same second
    ours = lines(AccessLogger, access_log_format, capsys)
    assert ours and ours == lines(Logger, access_log_format, capsys)


def test_our_format_line(capsys):
    line = lines(AccessLogger, OUR_FORMAT, capsys)
    assert line == '10.0.0.7 "POST /api/v1/tools/x\\"y/invoke" 201 1234 2345ms\n'


def test_nothing_sent_yet(capsys):
    class Unsent(Response):
        sent = None

    assert lines(AccessLogger, OUR_FORMAT, capsys, Unsent) == lines(Logger, OUR_FORMAT, capsys, Unsent)
    assert " 201 - " in lines(AccessLogger, OUR_FORMAT, capsys, Unsent)
