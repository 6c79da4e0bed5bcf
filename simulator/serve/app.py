"""The aiohttp application that answers the gateway's HTTP API from a
``Simulation``.

Every call into the simulation runs on one dedicated worker thread, in the
order requests arrive: the simulation is never driven from two threads at
once, and a fixed sequence of HTTP calls reaches it as the same sequence of
in-process calls, so the ledger (and its digest) is the same either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import tensorzero
from aiohttp import web

from simulator.serve import openai_compat, wire
from simulator.serve.requests import (
    BadRequest,
    feedback_kwargs,
    inference_kwargs,
    parse_body,
)

__all__ = ["SimulationBackend", "build_app"]

T = TypeVar("T")

_JSON = "application/json"
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
_DONE = b"data: [DONE]\n\n"


class _Reply:
    """What the worker hands back: a status and a JSON body, or SSE events."""

    __slots__ = ("body", "events", "status")

    def __init__(
        self, status: int, body: bytes = b"", events: list[bytes] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.events = events


class SimulationBackend:
    """One simulation, its in-process client and the thread that drives it."""

    def __init__(self, sim: Any, *, config_hash: str = "") -> None:
        self.sim = sim
        self.client = sim.client()
        self.config_hash = config_hash
        #: exceptions other than the gateway's own errors, in arrival order;
        #: each was answered with a 500 and is kept so a test can surface it.
        self.internal_errors: list[BaseException] = []
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="runguard-simulation"
        )

    async def run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, fn)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def created(self) -> int:
        # The OpenAI ``created`` stamp comes from the simulation's clock so a
        # replayed run answers byte for byte the same.
        clock = getattr(self.sim, "clock", None)
        return int(clock.time()) if clock is not None else 0

    def failure(self, exc: BaseException, *, openai: bool) -> _Reply:
        if isinstance(exc, tensorzero.TensorZeroError):
            text = exc.text or ""
            if openai:
                return _Reply(exc.status_code, wire.dumps(_openai_error(text)))
            return _Reply(exc.status_code, text.encode())
        self.internal_errors.append(exc)
        message = str(exc) or type(exc).__name__
        body = {"error": {"message": message}} if openai else {"error": message}
        return _Reply(500, wire.dumps(body))


def _openai_error(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        out: dict[str, Any] = {"error": {"message": parsed["error"]}}
        if "error_json" in parsed:
            out["error"]["tensorzero_error_json"] = parsed["error_json"]
        return out
    return {"error": {"message": text}}


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + wire.dumps(data) + b"\n\n"


def _drain(
    chunks: Iterable[Any], backend: SimulationBackend, openai: bool
) -> tuple[list[Any], _Reply | None]:
    """All chunks of a stream, and the failure that cut it short (if any)."""
    collected: list[Any] = []
    try:
        for chunk in chunks:
            collected.append(chunk)
    except Exception as exc:
        return collected, backend.failure(exc, openai=openai)
    return collected, None


def _stream_error_event(reply: _Reply, openai: bool) -> bytes:
    # A failure after the first chunk can no longer change the status, so
    # the gateway sends it as one more event.
    try:
        payload = json.loads(reply.body)
    except ValueError:
        payload = {"error": reply.body.decode(errors="replace")}
    return _event(payload)


def _infer(backend: SimulationBackend, kwargs: dict[str, Any]) -> _Reply:
    try:
        result = backend.client.inference(**kwargs)
        if not kwargs.get("stream"):
            return _Reply(200, wire.dumps(wire.response_json(result)))
        chunks, failure = _drain(result, backend, openai=False)
        if failure is not None and not chunks:
            return failure
        events = [_event(wire.chunk_json(c)) for c in chunks]
        if failure is not None:
            events.append(_stream_error_event(failure, openai=False))
        return _Reply(200, events=[*events, _DONE])
    except Exception as exc:
        return backend.failure(exc, openai=False)


def _feedback(backend: SimulationBackend, kwargs: dict[str, Any]) -> _Reply:
    try:
        result = backend.client.feedback(**kwargs)
        return _Reply(200, wire.dumps(wire.feedback_json(result)))
    except Exception as exc:
        return backend.failure(exc, openai=False)


def _chat_completion(
    backend: SimulationBackend, kwargs: dict[str, Any], include_usage: bool
) -> _Reply:
    prefix = openai_compat.model_prefix(kwargs)
    try:
        result = backend.client.inference(**kwargs)
        created = backend.created()
        if not kwargs.get("stream"):
            body = openai_compat.completion_json(result, prefix, created)
            return _Reply(200, wire.dumps(body))
        chunks, failure = _drain(result, backend, openai=True)
        if failure is not None and not chunks:
            return failure
        events = [
            _event(c)
            for c in openai_compat.completion_chunks_json(
                chunks, prefix, created, include_usage
            )
        ]
        if failure is not None:
            events.append(_stream_error_event(failure, openai=True))
        return _Reply(200, events=[*events, _DONE])
    except Exception as exc:
        return backend.failure(exc, openai=True)


async def _respond(request: web.Request, reply: _Reply) -> web.StreamResponse:
    if reply.events is None:
        return web.Response(status=reply.status, body=reply.body, content_type=_JSON)
    response = web.StreamResponse(status=reply.status, headers=_SSE_HEADERS)
    await response.prepare(request)
    await response.write(b"".join(reply.events))
    await response.write_eof()
    return response


def _bad_request(message: str, *, openai: bool) -> web.Response:
    body = {"error": {"message": message}} if openai else {"error": message}
    return web.Response(status=400, body=wire.dumps(body), content_type=_JSON)


def build_app(backend: SimulationBackend) -> web.Application:
    """The gateway's routes, answered by ``backend``'s simulation."""

    async def inference(request: web.Request) -> web.StreamResponse:
        try:
            kwargs = inference_kwargs(parse_body(await request.read()))
        except BadRequest as exc:
            return _bad_request(str(exc), openai=False)
        return await _respond(
            request, await backend.run(lambda: _infer(backend, kwargs))
        )

    async def feedback(request: web.Request) -> web.StreamResponse:
        try:
            kwargs = feedback_kwargs(parse_body(await request.read()))
        except BadRequest as exc:
            return _bad_request(str(exc), openai=False)
        return await _respond(
            request, await backend.run(lambda: _feedback(backend, kwargs))
        )

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        try:
            body = parse_body(await request.read())
            kwargs, include_usage = openai_compat.inference_kwargs(body)
        except BadRequest as exc:
            return _bad_request(str(exc), openai=True)
        except NotImplementedError as exc:
            backend.internal_errors.append(exc)
            return web.Response(
                status=500,
                body=wire.dumps({"error": {"message": str(exc)}}),
                content_type=_JSON,
            )
        reply = await backend.run(
            lambda: _chat_completion(backend, kwargs, include_usage)
        )
        return await _respond(request, reply)

    async def health(request: web.Request) -> web.Response:
        # The simulation has no databases; the gateway reports a disabled
        # backend as healthy.
        body = {
            "gateway": "ok",
            "clickhouse": "ok",
            "postgres": "ok",
            "valkey": "ok",
            "valkey_cache": "ok",
        }
        return web.Response(body=wire.dumps(body), content_type=_JSON)

    async def status(request: web.Request) -> web.Response:
        body = {
            "status": "ok",
            "version": tensorzero.__version__,
            "config_hash": backend.config_hash,
        }
        return web.Response(body=wire.dumps(body), content_type=_JSON)

    async def not_found(request: web.Request) -> web.Response:
        message = f"Route not found: {request.method} {request.path}"
        return web.Response(
            status=404, body=wire.dumps({"error": message}), content_type=_JSON
        )

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/inference", inference)
    app.router.add_post("/feedback", feedback)
    app.router.add_post("/openai/v1/chat/completions", chat_completions)
    app.router.add_get("/health", health)
    app.router.add_get("/status", status)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


def config_hash(paths: Iterable[str]) -> str:
    """A stable fingerprint of the config files (``/status``'s config_hash)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()
