"""A scripted fake of OpenAI's Realtime API over WebSocket, for the orb's end-to-end test.

It speaks the documented server events (every one with an ``event_id``) and accepts the
``realtime`` subprotocol the browser SDK (``@openai/agents-realtime``, WebSocket transport) offers.
The script: ``session.created``; on the client's ``session.update``, ``session.updated`` and a
response calling the first function of :attr:`calls`; each ``function_call_output`` the client
sends back is recorded in :attr:`outputs` and, on the client's ``response.create``, answered with
the next call; after the last one, a spoken answer (one audio chunk and its transcript).
:attr:`session` merges every ``session.update`` the client sent.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading

from websockets.sync.server import serve

__all__ = ["FakeRealtime"]


class FakeRealtime:
    """A one-conversation-at-a-time scripted Realtime server on a loopback port."""

    def output_of(self, name: str) -> dict:
        """The JSON the browser sent back for the call of function ``name``."""
        call_id = next(call_id for called, call_id in self.called if called == name)
        return json.loads(self.outputs[call_id])

    def __init__(self, calls: list[tuple[str, dict]], answer: str) -> None:
        self.calls = calls
        self.answer = answer
        self.received: list[dict] = []
        self.outputs: dict[str, str] = {}
        #: ``(name, call_id)`` of each function call sent, in order.
        self.called: list[tuple[str, str]] = []
        self.subprotocols: list[str | None] = []
        self.session: dict = {}
        self._ids = itertools.count(1)
        self._server = serve(self._handle, "127.0.0.1", 0, subprotocols=["realtime"])
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/v1/realtime"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRealtime:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def _send(self, ws, event_type: str, **fields) -> None:
        ws.send(json.dumps({"event_id": self._id("event"), "type": event_type, **fields}))

    def _handle(self, ws) -> None:
        self.subprotocols.append(ws.subprotocol)
        self._send(ws, "session.created", session={"type": "realtime", "object": "realtime.session",
                                                   "id": self._id("sess"), "model": "gpt-realtime"})
        pending = list(self.calls)
        for raw in ws:
            event = json.loads(raw)
            self.received.append(event)
            kind = event.get("type")
            if kind == "session.update":
                first = not self.session
                self.session = {**self.session, **(event.get("session") or {})}
                self._send(ws, "session.updated", session={"type": "realtime", **self.session})
                if first:  # the SDK may update the session again (tracing): the script starts once
                    self._call(ws, pending.pop(0))
            elif kind == "conversation.item.create" and event["item"].get("type") == "function_call_output":
                item = {**event["item"], "id": event["item"].get("id") or self._id("item")}
                self.outputs[item["call_id"]] = item["output"]
                self._send(ws, "conversation.item.added", item=item, previous_item_id=None)
                self._send(ws, "conversation.item.done", item=item, previous_item_id=None)
            elif kind == "response.create":
                if pending:
                    self._call(ws, pending.pop(0))
                else:
                    self._speak(ws)

    def _response(self, ws, items: list[dict]) -> None:
        response_id = self._id("resp")
        self._send(ws, "response.created", response={"id": response_id, "object": "realtime.response",
                                                     "status": "in_progress", "output": []})
        for index, item in enumerate(items):
            self._send(ws, "response.output_item.added", response_id=response_id, output_index=index,
                       item={**item, "status": "in_progress"})
            if item["type"] == "message":
                self._send(ws, "conversation.item.added", item=item, previous_item_id=None)
                self._send(ws, "response.output_audio.delta", response_id=response_id, item_id=item["id"],
                           output_index=index, content_index=0, delta=base64.b64encode(bytes(4800)).decode())
                self._send(ws, "response.output_audio.done", response_id=response_id, item_id=item["id"],
                           output_index=index, content_index=0)
                self._send(ws, "conversation.item.done", item=item, previous_item_id=None)
            self._send(ws, "response.output_item.done", response_id=response_id, output_index=index, item=item)
        self._send(ws, "response.done", response={
            "id": response_id, "object": "realtime.response", "status": "completed", "output": items,
            "usage": {"total_tokens": 10, "input_tokens": 6, "output_tokens": 4}})

    def _call(self, ws, call: tuple[str, dict]) -> None:
        name, arguments = call
        call_id = self._id("call")
        self.called.append((name, call_id))
        self._response(ws, [{"id": self._id("item"), "type": "function_call", "status": "completed", "name": name,
                             "call_id": call_id, "arguments": json.dumps(arguments)}])

    def _speak(self, ws) -> None:
        self._response(ws, [{"id": self._id("item"), "type": "message", "role": "assistant", "status": "completed",
                             "content": [{"type": "output_audio", "transcript": self.answer}]}])
