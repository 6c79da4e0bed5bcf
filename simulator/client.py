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
from typing import TYPE_CHECKING, Any, TypeVar

from simulator.errors import UsageError
from simulator.failures import Failure
from simulator.responses import aiterate, iterate
from simulator.timeline import drive, run_blocking

if TYPE_CHECKING:
    from simulator.simulation import Simulation

_R = TypeVar("_R")

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


def _blocking(fn: Callable[..., _R], clock: Any) -> Callable[..., _R]:
    def call(*args: Any, **kwargs: Any) -> _R:
        return run_blocking(clock, functools.partial(fn, *args, **kwargs))

    return call


class _Base:
    def __init__(self, sim: Simulation) -> None:
        self._sim = sim

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


class SimulatedGateway(_Base):
    """Drop-in for ``tensorzero.TensorZeroGateway`` (sync)."""

    def _check_thread(self) -> None:
        sim = self._sim
        ident = threading.get_ident()
        if sim._owner_thread is None:
            sim._owner_thread = ident
        elif sim._owner_thread != ident:
            raise UsageError(
                "runguard: a simulation's sync client was called from a second "
                "thread; thread scheduling would make the ledger depend on the "
                "host, so use one thread per Simulation or the async client "
                "with sim.run()"
            )

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
        self._check_thread()
        if options:
            _refuse_unsimulated(options)
        sim = self._sim
        clock = sim.clock
        # the common case calls the gateway directly; with limits declared
        # the same call runs on a private virtual-time loop
        run = (
            sim.gateway.inference
            if sim.engine.admission is None
            else _blocking(sim.gateway.inference, clock)
        )
        try:
            result, end = run(
                clock.now,
                input=input,
                function_name=function_name,
                model_name=model_name,
                episode_id=episode_id,
                namespace=namespace,
                stream=stream,
                params=params,
                variant_name=variant_name,
                tags=tags,
            )
        except Failure as err:
            clock.advance_to(getattr(err, "at", clock.now))
            raise err.to_tensorzero() from None
        if end > clock.now:
            clock.now = end
        if stream:
            return iterate(result)
        return result

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
        sim = self._sim
        clock = sim.clock
        try:
            result, end = sim.gateway.feedback(
                clock.now,
                metric_name=metric_name,
                value=value,
                inference_id=inference_id,
                episode_id=episode_id,
                dryrun=dryrun,
                tags=tags,
            )
        except Failure as err:
            clock.advance_to(getattr(err, "at", clock.now))
            raise err.to_tensorzero() from None
        clock.advance_to(end)
        return result


class AsyncSimulatedGateway(_Base):
    """Drop-in for ``tensorzero.AsyncTensorZeroGateway``; run agents that
    use it with ``sim.run(...)``."""

    def _check_loop(self) -> None:
        # checked before anything runs, so a refused call writes nothing
        loop = asyncio.get_running_loop()
        if getattr(loop, "virtual_clock", None) is not self._sim.clock:
            raise UsageError(
                "runguard: the async client must run on the simulation's "
                "virtual-time loop; call sim.run(agent(...)) instead of "
                "asyncio.run(...) or a test framework's own event loop"
            )

    async def _wait_until(self, end: float) -> None:
        # NOTE: sleep even for zero so concurrent agents interleave the way
        # they would around a real network await.
        await asyncio.sleep(max(0.0, end - self._sim.clock.now))

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
        sim = self._sim
        start = sim.clock.now
        call = functools.partial(
            sim.gateway.inference,
            start,
            input=input,
            function_name=function_name,
            model_name=model_name,
            episode_id=episode_id,
            namespace=namespace,
            stream=stream,
            params=params,
            variant_name=variant_name,
            tags=tags,
        )
        try:
            if sim.engine.admission is None:
                result, end = call()
            else:
                result, end = await drive(call, sim.clock)
        except Failure as err:
            await self._wait_until(getattr(err, "at", start))
            raise err.to_tensorzero() from None
        await self._wait_until(end)
        if stream:
            return aiterate(result)
        return result

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
        sim = self._sim
        start = sim.clock.now
        try:
            result, end = sim.gateway.feedback(
                start,
                metric_name=metric_name,
                value=value,
                inference_id=inference_id,
                episode_id=episode_id,
                dryrun=dryrun,
                tags=tags,
            )
        except Failure as err:
            await self._wait_until(getattr(err, "at", start))
            raise err.to_tensorzero() from None
        await self._wait_until(end)
        return result
