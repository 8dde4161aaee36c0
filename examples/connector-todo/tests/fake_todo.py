"""A fake of the to-do service on loopback: ``GET /api/me``, ``GET``/``POST /api/todos``, Bearer keys."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeTodo:
    """Accounts by API key, each with its to-dos; ``url`` once started."""

    def __init__(self):
        self.accounts = {}  # key -> {"name": ..., "todos": [...]}
        self.server = None
        self.url = ""

    def add_account(self, key, name, todos=()):
        self.accounts[key] = {"name": name, "todos": [dict(t) for t in todos]}

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def account(self):
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                return fake.accounts.get(key)

            def do_GET(self):
                account = self.account()
                if account is None:
                    return self.answer(401, {"error": "unknown key"})
                if self.path == "/api/me":
                    return self.answer(200, {"name": account["name"]})
                if self.path == "/api/todos":
                    return self.answer(200, account["todos"])
                return self.answer(404, {"error": "no such path"})

            def do_POST(self):
                account = self.account()
                if account is None:
                    return self.answer(401, {"error": "unknown key"})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                todo = {"id": len(account["todos"]) + 1, "title": body["title"], "due": body.get("due"),
                        "done": False}
                account["todos"].append(todo)
                return self.answer(201, todo)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
