"""Clients with the keyword API of ``tensorzero.TensorZeroGateway`` and
``AsyncTensorZeroGateway``, answering from a :class:`Simulation`.

The sync client moves the virtual clock to the end of each call; the async
client sleeps that long on the simulation's virtual-time loop, so
concurrent calls overlap in virtual time.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from simulator.errors import UsageError
from simulator.failures import Failure
from simulator.responses import aiterate, iterate
from simulator.timeline import drive, run_blocking

if TYPE_CHECKING:
    from simulator.simulation import Simulation

#: Request options that change what the gateway does and that the
#: simulator does not model yet; they are refused, never ignored.
_UNSIMULATED = (
    "output_schema",
    "additional_tools",
    "provider_tools",
    "allowed_tools",
    "internal_dynamic_variant_config",
    "include_raw_usage",
    "include_raw_response",
    "include_original_response",
    "include_aggregated_response",
)

_get_ident = threading.get_ident


def _refuse_unsimulated(options: Mapping[str, Any]) -> None:
    for name in _UNSIMULATED:
        if options.get(name) is not None:
            raise NotImplementedError(
                f"runguard: the inference option `{name}` is not simulated yet"
            )
    cache = options.get("cache_options")
    if cache is not None and dict(cache).get("enabled", "off") != "off":
        raise NotImplementedError(
            "runguard: the gateway's inference cache (`cache_options.enabled`) "
            "is not simulated yet"
        )


class _Base:
    """What both clients share: the simulation's gateway and the way a
    request reaches it; they differ only in how they wait for the end."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._clock = sim.clock
        self._gateway = sim.gateway
        #: with limits declared a call runs on a virtual-time loop
        self._limited = sim.engine.admission is not None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _feedback_call(
        self,
        metric_name: str,
        value: Any,
        inference_id: Any,
        episode_id: Any,
        dryrun: bool | None,
        tags: dict[str, str] | None,
    ) -> tuple[Any, float]:
        return self._gateway.feedback(
            self._clock.now,
            metric_name=metric_name,
            value=value,
            inference_id=inference_id,
            episode_id=episode_id,
            dryrun=dryrun,
            tags=tags,
        )


class SimulatedGateway(_Base):
    """Drop-in for ``tensorzero.TensorZeroGateway`` (sync)."""

    def _check_thread(self) -> None:
        sim = self._sim
        ident = _get_ident()
        if sim._owner_thread is None:
            sim._owner_thread = ident
        elif sim._owner_thread != ident:
            raise UsageError(
                "runguard: a simulation's sync client was called from a second "
                "thread; thread scheduling would make the ledger depend on the "
                "host, so use one thread per Simulation or the async client "
                "with sim.run()"
            )

    def _finish(self, call: Callable[..., tuple[Any, float]], *args: Any) -> Any:
        clock = self._clock
        try:
            result, end = call(*args)
        except Failure as err:
            clock.advance_to(err.at)
            raise err.to_tensorzero() from None
        if end > clock.now:
            clock.now = end
        return result

    def inference(
        self,
        *,
        input: Any,
        function_name: str | None = None,
        model_name: str | None = None,
        episode_id: Any = None,
        namespace: str | None = None,
        stream: bool | None = None,
        params: dict[str, Any] | None = None,
        variant_name: str | None = None,
        dryrun: bool | None = None,
        tags: dict[str, str] | None = None,
        **options: Any,
    ) -> Any:
        if self._sim._owner_thread != _get_ident():
            self._check_thread()
        if options:
            _refuse_unsimulated(options)
        clock = self._clock
        if self._limited:
            # a private virtual-time loop that lives for this call
            call = functools.partial(
                self._gateway.inference, clock.now, input, function_name,
                model_name, episode_id, namespace, stream, params, variant_name,
                tags,
            )  # fmt: skip
            result = self._finish(run_blocking, clock, call)
        else:
            # ``_finish`` written out: this is the hot path of every sweep
            try:
                result, end = self._gateway.inference(
                    clock.now, input, function_name, model_name, episode_id,
                    namespace, stream, params, variant_name, tags,
                )  # fmt: skip
            except Failure as err:
                clock.advance_to(err.at)
                raise err.to_tensorzero() from None
            if end > clock.now:
                clock.now = end
        return iterate(result) if stream else result

    def feedback(
        self,
        *,
        metric_name: str,
        value: Any,
        inference_id: Any = None,
        episode_id: Any = None,
        dryrun: bool | None = None,
        internal: bool | None = None,
        tags: dict[str, str] | None = None,
    ) -> Any:
        self._check_thread()
        return self._finish(
            self._feedback_call,
            metric_name, value, inference_id, episode_id, dryrun, tags,
        )  # fmt: skip


class AsyncSimulatedGateway(_Base):
    """Drop-in for ``tensorzero.AsyncTensorZeroGateway``; run agents that
    use it with ``sim.run(...)``."""

    def _check_loop(self) -> None:
        # checked before anything runs, so a refused call writes nothing
        loop = asyncio.get_running_loop()
        if getattr(loop, "virtual_clock", None) is not self._clock:
            raise UsageError(
                "runguard: the async client must run on the simulation's "
                "virtual-time loop; call sim.run(agent(...)) instead of "
                "asyncio.run(...) or a test framework's own event loop"
            )

    async def _finish(
        self, call: Callable[[], tuple[Any, float]], limited: bool = False
    ) -> Any:
        try:
            result, end = await drive(call, self._clock) if limited else call()
        except Failure as err:
            await self._wait_until(err.at)
            raise err.to_tensorzero() from None
        await self._wait_until(end)
        return result

    async def _wait_until(self, end: float) -> None:
        # NOTE: sleep even for zero so concurrent agents interleave the way
        # they would around a real network await.
        await asyncio.sleep(max(0.0, end - self._clock.now))

    async def inference(
        self,
        *,
        input: Any,
        function_name: str | None = None,
        model_name: str | None = None,
        episode_id: Any = None,
        namespace: str | None = None,
        stream: bool | None = None,
        params: dict[str, Any] | None = None,
        variant_name: str | None = None,
        dryrun: bool | None = None,
        tags: dict[str, str] | None = None,
        **options: Any,
    ) -> Any:
        self._check_loop()
        if options:
            _refuse_unsimulated(options)
        call = functools.partial(
            self._gateway.inference, self._clock.now, input, function_name,
            model_name, episode_id, namespace, stream, params, variant_name, tags,
        )  # fmt: skip
        result = await self._finish(call, limited=self._limited)
        return aiterate(result) if stream else result

    async def feedback(
        self,
        *,
        metric_name: str,
        value: Any,
        inference_id: Any = None,
        episode_id: Any = None,
        dryrun: bool | None = None,
        internal: bool | None = None,
        tags: dict[str, str] | None = None,
    ) -> Any:
        self._check_loop()
        call = functools.partial(
            self._feedback_call,
            metric_name, value, inference_id, episode_id, dryrun, tags,
        )  # fmt: skip
        return await self._finish(call)
