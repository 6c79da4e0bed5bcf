"""The fake provider's HTTP server (aiohttp, 127.0.0.1 only).

``FakeProvider`` runs either in the foreground (``runguard provider``) or on
its own event loop in a background thread (the pytest fixture, the
differential suite, the benchmark).  aiohttp's protocol turns Nagle's
algorithm off on every accepted connection (``TCP_NODELAY``), which a
request/response server on loopback needs: with Nagle on, each small answer
waits for the client's delayed ACK.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from simulator.errors import RunguardError
from simulator.fakeprovider import wire
from simulator.fakeprovider.behaviour import Behaviour
from simulator.fakeprovider.calls import CallRecord, ProviderReply, ProviderRequest
from simulator.loopthread import LoopThread

HOST = "127.0.0.1"

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Sink = Callable[[CallRecord, ProviderRequest, ProviderReply], None]


class FakeProvider:
    """An OpenAI- and Anthropic-compatible provider answering from a behaviour.

    ``real_latency`` makes it sleep each reply's ``latency_s`` before
    answering; ``hang_s`` caps how long a ``timeout`` outcome holds the
    connection open when the gateway has no timeout of its own.
    """

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        port: int = 0,
        real_latency: bool = True,
        hang_s: float = 30.0,
        sink: Sink | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.real_latency = real_latency
        self.hang_s = hang_s
        self.sink = sink
        self._requested_port = port
        self._port: int | None = None
        self._log: list[CallRecord] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._epoch = time.monotonic()
        self._serving = LoopThread("runguard-fake-provider")
        self._runner: web.ServerRunner | None = None

    # ------------------------------------------------------------------
    # addresses and the request log

    @property
    def port(self) -> int:
        if self._port is None:
            raise RunguardError("runguard: the fake provider is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``api_base`` for OpenAI-type providers (ends in ``/v1/``)."""
        return f"http://{HOST}:{self.port}/v1/"

    @property
    def anthropic_url(self) -> str:
        """``api_base`` for Anthropic-type providers."""
        return f"http://{HOST}:{self.port}/v1/"

    def calls(self) -> list[CallRecord]:
        """Every request answered so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being answered; ``False`` on timeout.

        The gateway can return before an attempt it abandoned (a timeout)
        has finished here; waiting makes the log final."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight <= 0, timeout)

    def reset(self) -> None:
        """Clear the log and the behaviour's counters (between test cases)."""
        with self._lock:
            self._log.clear()
            self._inflight = 0
            self.behaviour.reset()

    # ------------------------------------------------------------------
    # the application

    def routes(self) -> dict[tuple[str, str], Handler]:
        """``(method, path)`` → handler; paths with and without ``/v1``."""
        table: dict[tuple[str, str], Handler] = {}
        for prefix in ("/v1", ""):
            table["POST", f"{prefix}/chat/completions"] = self._openai_chat
            table["POST", f"{prefix}/embeddings"] = self._openai_embeddings
            table["POST", f"{prefix}/messages"] = self._anthropic_messages
        table["GET", "/health"] = self._health
        table["GET", "/runguard/calls"] = self._calls_json
        return table

    def handler(self) -> Handler:
        """The request handler for aiohttp's low-level server.

        A dict lookup instead of aiohttp's router and middleware chain: on
        loopback the server's own overhead is most of a request's cost, and
        the real gateway in front of it must not wait on us.
        """
        routes = self.routes()

        async def handle(http: web.BaseRequest) -> web.StreamResponse:
            found = routes.get((http.method, http.path))
            if found is None:
                return self._json({"error": {"message": "not found"}}, 404)
            try:
                return await found(http)
            except web.HTTPException as exc:
                return web.Response(
                    status=exc.status, text=exc.text, content_type=exc.content_type
                )
            except (RunguardError, NotImplementedError) as exc:
                # A world or schema we cannot answer from is the user's to
                # fix: say so in the body, which the gateway quotes.
                return self._json({"error": {"message": str(exc)}}, 500)

        return handle

    def _decide(self, request: ProviderRequest) -> tuple[CallRecord, ProviderReply]:
        with self._lock:
            reply = self.behaviour.reply(request)
            start = time.monotonic() - self._epoch
            target = request.target
            record = CallRecord(
                seq=len(self._log),
                api=request.api,
                model=target.model,
                provider=target.provider,
                provider_type=target.provider_type,
                n_messages=len(request.roles),
                roles=request.roles,
                stream=request.stream,
                outcome=reply.outcome,
                status=reply.status,
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                cost_nanousd=reply.cost_nanousd,
                billed=reply.billed,
                start_s=start,
                end_s=start + reply.latency_s,
                function=request.tags.get("function", ""),
                variant=request.tags.get("variant", ""),
                role=request.tags.get("role", ""),
            )
            self._log.append(record)
            self._inflight += 1
        return record, reply

    def _finish(
        self,
        http: web.BaseRequest,
        record: CallRecord,
        request: ProviderRequest,
        reply: ProviderReply,
    ) -> bool:
        """Log the attempt's end; ``False`` when the client gave up first."""
        transport = http.transport
        cut = reply.outcome != "timeout" and (
            transport is None or transport.is_closing()
        )
        if cut:
            # The gateway's own timeout ended the attempt: bill it as the
            # world bills timeouts.
            bills = getattr(self.behaviour, "bills_timeouts", _yes)
            billed = bool(bills(request))
            record = dataclasses.replace(
                record,
                outcome="timeout",
                status=408,
                output_tokens=record.output_tokens if billed else 0,
                cost_nanousd=record.cost_nanousd if billed else 0,
                billed=billed,
                end_s=time.monotonic() - self._epoch,
            )
        elif reply.outcome == "timeout":
            record = dataclasses.replace(
                record, status=408, end_s=time.monotonic() - self._epoch
            )
        with self._lock:
            if (cut or reply.outcome == "timeout") and record.seq < len(self._log):
                self._log[record.seq] = record
            self._inflight -= 1
            self._idle.notify_all()
        if self.sink is not None:
            self.sink(record, request, reply)
        return not cut

    async def _wait(self, http: web.BaseRequest, reply: ProviderReply) -> None:
        if reply.outcome == "timeout":
            # Hold the connection until the gateway gives up on it (its own
            # timeout closes the socket) or the cap runs out.
            seconds = self.hang_s
        elif self.real_latency and reply.latency_s > 0:
            seconds = reply.latency_s
        else:
            return
        # Sleep in short steps so an attempt the gateway abandons is logged
        # as timed out as soon as the socket closes.
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            transport = http.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(min(left, 0.005))

    @staticmethod
    async def _body(http: web.BaseRequest) -> dict[str, Any]:
        try:
            # ``content.read()`` has no size cap: long prompts are fine here.
            body = json.loads(await http.content.read())
        except ValueError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": {"message": f"invalid JSON: {exc}"}}),
                content_type="application/json",
            ) from exc
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": {"message": "body must be an object"}}),
                content_type="application/json",
            )
        return body

    @staticmethod
    def _json(payload: Any, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(payload).encode(),
            status=status,
            content_type="application/json",
        )

    async def _stream(
        self, http: web.BaseRequest, chunks: Iterator[bytes]
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(http)
        for piece in chunks:
            await response.write(piece)
        await response.write_eof()
        return response

    async def _answer(
        self, http: web.BaseRequest, request: ProviderRequest
    ) -> tuple[CallRecord, ProviderReply]:
        """Decide the reply, take its latency, and log the call (also when
        the gateway hangs up first)."""
        record, reply = self._decide(request)
        try:
            await self._wait(http, reply)
        finally:
            self._finish(http, record, request, reply)
        return record, reply

    async def _openai_chat(self, http: web.BaseRequest) -> web.StreamResponse:
        request = wire.parse_openai_chat(await self._body(http), http.headers)
        record, reply = await self._answer(http, request)
        if reply.status != 200:
            return self._json(wire.openai_error(reply), reply.status)
        if request.stream:
            return await self._stream(
                http, wire.openai_chat_stream(request, reply, record.seq)
            )
        return self._json(wire.openai_chat(request, reply, record.seq))

    async def _openai_embeddings(self, http: web.BaseRequest) -> web.StreamResponse:
        body = await self._body(http)
        request = wire.parse_openai_embeddings(body, http.headers)
        record, reply = await self._answer(http, request)
        if reply.status != 200:
            return self._json(wire.openai_error(reply), reply.status)
        return self._json(
            wire.openai_embeddings(request, reply, wire.embedding_inputs(body))
        )

    async def _anthropic_messages(self, http: web.BaseRequest) -> web.StreamResponse:
        request = wire.parse_anthropic_messages(await self._body(http), http.headers)
        record, reply = await self._answer(http, request)
        if reply.status != 200:
            return self._json(wire.anthropic_error(reply), reply.status)
        if request.stream:
            return await self._stream(
                http, wire.anthropic_stream(request, reply, record.seq)
            )
        return self._json(wire.anthropic_message(request, reply, record.seq))

    async def _health(self, http: web.BaseRequest) -> web.Response:
        sock = http.transport.get_extra_info("socket") if http.transport else None
        nodelay = bool(
            sock is not None and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        return self._json({"status": "ok", "tcp_nodelay": nodelay})

    async def _calls_json(self, http: web.BaseRequest) -> web.Response:
        return self._json([record_to_dict(r) for r in self.calls()])

    # ------------------------------------------------------------------
    # running

    async def start_async(self) -> None:
        """Bind and serve on the running loop."""
        server = web.Server(self.handler(), access_log=None)
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self._requested_port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise RunguardError(
                f"runguard: the fake provider could not listen on {HOST}:"
                f"{self._requested_port}: {exc.strerror}; choose another --port"
            ) from None
        self._port = int(self._runner.addresses[0][1])
        self._epoch = time.monotonic()

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> FakeProvider:
        """Serve on a background thread with its own event loop."""
        if self._serving.running:
            return self
        failure = self._serving.start(self.start_async, self.stop_async)
        if failure is not None:
            raise failure
        return self

    def stop(self) -> None:
        if not self._serving.running:
            return
        self._serving.stop(timeout=10)
        self._port = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _yes(request: ProviderRequest) -> bool:
    return True


def record_to_dict(record: CallRecord) -> dict[str, Any]:
    row = dataclasses.asdict(record)
    row["roles"] = list(record.roles)
    return row
