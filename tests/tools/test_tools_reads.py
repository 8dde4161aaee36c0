"""What the agent tools routes read from the database: the user's connections, and the user's saved
language only when the answer holds words to translate (``core.i18n`` looks the locale up lazily).

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event, on the test's own thread
(the requests go through the app's test client), so the platform's background jobs do not count.
"""
import re
import threading

import pytest
from sqlalchemy import event

LOCALE = "users.locale"  # the saved-language read: SELECT users.locale FROM users WHERE users.id = ?


@pytest.fixture
def agent(tools_platform):
    """``call(method, path, json=None) -> (what it read, answer)`` as user u1, seen once already."""
    platform = tools_platform
    client = platform.app.test_client()
    headers = {"Authorization": f"Bearer {platform.token('u1', 'o1')}"}
    engine = platform.ext("db").engine
    assert client.get("/api/v1/tools", headers=headers).status_code == 200  # the user is created on first sight

    def call(method: str, path: str, json=None):
        thread, read = threading.get_ident(), []

        def record(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() == thread:
                table = re.search(r"\b(?:FROM|INTO|UPDATE) (\w+)", statement)
                read.append(LOCALE if LOCALE in statement else table[1] if table else statement.split()[0])

        event.listen(engine, "before_cursor_execute", record)
        try:
            answer = client.open(path, method=method, headers=headers, json=json)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return read, answer

    return call


def test_an_invocation_whose_answer_says_nothing_in_words_reads_no_language(agent):
    read, answer = agent("POST", "/api/v1/tools/list_connectors/invoke", {})
    assert answer.json["ok"] and read == ["user_connectors"]
    assert agent("POST", "/api/v1/connectors/weather/config", {"api_key": "k"})[1].status_code == 200
    read, answer = agent("POST", "/api/v1/tools/weather__forecast/invoke", {"city": "Paris"})
    assert answer.json["result"]["sky"] == "clear" and read == ["user_connectors", "user_connector_credentials"]


def test_the_language_is_read_when_the_answer_is_in_words(agent):
    read, answer = agent("POST", "/api/v1/tools/weather__forecast/invoke", {"city": "Paris"})  # how to connect
    assert answer.json["error"]["code"] == "not_connected" and read == ["user_connectors", LOCALE]
    assert agent("POST", "/api/v1/connectors/weather/config", {"api_key": "k"})[1].status_code == 200
    read, answer = agent("POST", "/api/v1/tools/weather__forecast/invoke", {"city": 3})  # a message for the model
    assert answer.json["error"]["code"] == "invalid_input" and read == ["user_connectors", LOCALE]
    read, answer = agent("GET", "/api/v1/tools")  # the instructions are in the user's language
    assert answer.json["locale"] == "fr" and read == [LOCALE, "user_connectors"]
    read, answer = agent("GET", "/api/v1/tools?locale=en")  # asked for: the saved choice is not needed
    assert answer.json["locale"] == "en" and read == ["user_connectors"]
