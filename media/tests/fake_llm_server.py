"""A stand-in OpenAI-compatible chat-completions server for the LLM script writer's tests.

Run as its own process: `python fake_llm_server.py` prints `PORT <n>` once it listens on a free port.
`POST /v1/chat/completions` answers a valid JSON script (whole, outline or one section, recognised
from the prompt) sized from the words the prompt asks for. Faults are queued with `POST /control`
`{"faults": ["429", "500", "garbage", "not-json", "joined", "empty", "slow", "400", "ok"]}`: each chat request
takes the next fault ("ok": none), then requests are answered normally. `GET /control` returns the
chat requests received so far.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

faults: list[str] = []
received: list[dict[str, Any]] = []
lock = threading.Lock()


def _words_asked(prompt: str) -> int:
    found = re.search(r"about (\d+) words", prompt)
    return int(found.group(1)) if found else 100


def _sentences(topic: str, label: str, words: int) -> list[str]:
    count = max(1, round(words / 10))
    return [
        f"This is line {n} of {label}, a calm and careful sentence about {topic}."
        for n in range(1, count + 1)
    ]


def answer(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body["messages"][-1]["content"]
    topic = re.search(r"Topic: (.*)", prompt)
    subject = topic.group(1) if topic else "something"
    words = _words_asked(prompt)
    meta = {
        "title": f"All about {subject}",
        "description": f"A video about {subject}.",
        "tags": [subject, "calm"],
    }
    if '"plan"' in prompt:  # the outline
        count = int(re.search(r"exactly (\d+) sections", prompt).group(1))  # type: ignore[union-attr]
        planned = [{"title": f"Chapter {n} of {subject}", "plan": f"part {n}"} for n in range(1, count + 1)]
        return {**meta, "sections": planned}
    if '"sections"' in prompt:  # the whole script at once
        count = int(re.search(r"in (\d+) section", prompt).group(1))  # type: ignore[union-attr]
        per = max(10, words // count)
        sections = [
            {"title": f"Chapter {n} of {subject}", "sentences": _sentences(subject, f"chapter {n}", per)}
            for n in range(1, count + 1)
        ]
        return {**meta, "sections": sections}
    section = re.search(r"section, (\d+)\.", prompt)
    label = f"section {section.group(1) if section else '?'}"
    return {"sentences": _sentences(subject, label, words)}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if status == 429:
            self.send_header("Retry-After", "0.1")
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        with lock:
            self._send(200, json.dumps(received).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path == "/control":
            with lock:
                faults.extend(body.get("faults", []))
            self._send(200, b"{}")
            return
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "no such route"}}')
            return
        with lock:
            received.append({**body, "authorization": self.headers.get("Authorization", "")})
            fault = faults.pop(0) if faults else None
        if fault == "slow":
            time.sleep(60)  # far beyond any test's client timeout; the client gives up first
            return
        if fault in {"429", "500", "503", "400"}:
            self._send(int(fault), json.dumps({"error": {"message": f"fault {fault}"}}).encode())
            return
        if fault == "garbage":
            self._send(200, b"<html>this is not an API</html>", "text/html")
            return
        if fault == "not-json":
            content = "Sure! Here is your script: {oops"
        elif fault == "joined":  # every section's sentences run together in one string
            whole = answer(body)
            for section in whole.get("sections", []):
                section["sentences"] = [" ".join(section["sentences"])]
            content = json.dumps(whole)
        elif fault == "empty":
            content = json.dumps({"title": "A title and nothing else"})
        else:
            content = json.dumps(answer(body))
        completion = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send(200, json.dumps(completion).encode())


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
