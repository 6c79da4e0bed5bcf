"""A tiny OpenAI-style server on 127.0.0.1 for the differential tests.

``model_name`` decides the answer: a name listed in ``failing`` gets that
HTTP status, anything else a completion whose text is the model name.
Every request's model is logged in arrival order.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    failing: dict[str, int]
    log: list[str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # without this, delayed ACKs cap the gateway at ~23 requests/s
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        model = str(body.get("model", ""))
        self.server.log.append(model)
        status = self.server.failing.get(model)
        if status is not None:
            payload = {"error": {"message": f"fake failure {status}", "type": "fake"}}
        elif self.path.endswith("/embeddings"):
            status = 200
            payload = {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.0] * 8}],
                "model": model,
                "usage": {"prompt_tokens": 10, "total_tokens": 10},
            }
        else:
            status = 200
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"from {model}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": 20,
                    "total_tokens": 30,
                },
            }
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fake_openai(failing: dict[str, int] | None = None) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.failing = dict(failing or {})
    server.log = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def provider_block(model: str, port: int) -> str:
    """TOML for a one-provider model on the fake server."""
    return (
        f'[models.{model}]\nrouting = ["fake"]\n'
        f'[models.{model}.providers.fake]\ntype = "openai"\n'
        f'model_name = "{model}"\n'
        f'api_base = "http://127.0.0.1:{port}/v1/"\n'
        'api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"\n'
    )
