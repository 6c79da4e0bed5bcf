"""Answer provider requests from a simulator world.

The world says, per TensorZero model and provider, how many tokens a call
writes, how long it takes, which attempts fail, and which raw usage fields
it reports.  This adapter reads those settings through
:class:`simulator.world.World` and makes the same draws, from the same
seeded streams, in the same order per model and provider, as the
simulator's engine: same world and seed ⇒ same tokens, outcomes and raw
usage for the n-th call to a provider.  Billed amounts follow the engine's
rules too (the config's ``cost`` entries when it has them, else the world's
or the catalog's price).

Prompt tokens are the world's ``input_tokens`` when it sets them (which, as
in the simulator, replace the whole prompt estimate, evaluator and fuser
prompts included), else the simulator's estimator applied to the messages
the gateway actually sent.  The gateway has no DICL example store here, so
DICL prompts carry no examples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import contextwindow, engine, pricing, rng, tokens
from simulator.config.model import CostEntry
from simulator.fakeprovider.calls import ProviderReply, ProviderRequest
from simulator.world import World

#: what an unusable answer looks like (the simulator's own wording)
INVALID_ANSWER = "simulated unparseable answer"


@dataclass
class _Channel:
    """The state of one (model, provider) pair: the engine's ``ProviderPlan``
    streams, drawn the way the engine draws them."""

    settings: Mapping[str, Any]
    schedule: list[tuple[str, int]]
    rates: list[tuple[float, str]]
    outcome_draws: rng.UniformStream | None
    output: rng.Sampler
    latency: rng.Sampler
    input: rng.Sampler | None
    cached: rng.Sampler | None
    reasoning: rng.Sampler | None
    cache_write: rng.Sampler | None
    invalid_rate: float
    invalid_draws: rng.UniformStream | None
    table: pricing.TableRates | None
    formula: pricing.CostFormula | None
    position: int = 0

    def next_outcome(self) -> tuple[str, int]:
        if self.position < len(self.schedule):
            self.position += 1
            return self.schedule[self.position - 1]
        if self.outcome_draws is not None:
            u = self.outcome_draws.next()
            for threshold, kind in self.rates:
                if u < threshold:
                    return kind, engine._KIND_STATUS[kind]
        return "ok", 200


@dataclass
class WorldBehaviour:
    """A :class:`~simulator.fakeprovider.behaviour.Behaviour` driven by a world."""

    world: World
    seed: int = 0
    #: ``cost`` entries of the team's config, by (embedding?, model, provider)
    costs: dict[tuple[bool, str, str], tuple[CostEntry, ...]] = field(
        default_factory=dict
    )
    _channels: dict[tuple[bool, str, str], _Channel] = field(default_factory=dict)

    @classmethod
    def from_world(
        cls, world: World | Mapping[str, Any] | str | Path | None, seed: int = 0
    ) -> WorldBehaviour:
        return cls(World.coerce(world), seed)

    def reset(self) -> None:
        self._channels.clear()

    def use_costs(self, config: Any) -> None:
        """Bill like the config's ``cost`` entries (a loaded ``Config``)."""
        for name, model in config.models.items():
            for pname, provider in model.providers.items():
                if provider.cost is not None:
                    self.costs[(False, name, pname)] = provider.cost
        for name, model in config.embedding_models.items():
            for pname, provider in model.providers.items():
                if provider.cost is not None:
                    self.costs[(True, name, pname)] = provider.cost

    def _channel(self, request: ProviderRequest) -> _Channel:
        target = request.target
        embedding = request.api == "embeddings"
        key = (embedding, target.model, target.provider)
        found = self._channels.get(key)
        if found is not None:
            return found
        if embedding:
            settings = self.world.embedding_settings(target.model, target.provider)
        else:
            settings = self.world.model_settings(target.model, target.provider)
        names = (target.model, target.provider)
        seed = self.seed

        def dist(name: str, integer: bool) -> rng.Sampler:
            return rng.sampler(
                settings[name], rng.generator(seed, name, *names), integer=integer
            )

        raw = settings.get("raw_usage", {})

        def optional(name: str) -> rng.Sampler | None:
            if name not in raw:
                return None
            return rng.sampler(
                raw[name], rng.generator(seed, "raw_usage", name, *names), integer=True
            )

        rates: list[tuple[float, str]] = []
        cumulative = 0.0
        for kind in ("rate_limited", "server_error", "client_error", "timeout"):
            rate = float(settings.get("failure_rates", {}).get(kind, 0.0))
            if rate > 0:
                cumulative += rate
                rates.append((cumulative, kind))
        invalid_rate = (
            0.0 if embedding else float(settings.get("invalid_answer_rate", 0.0))
        )
        entries = self.costs.get(key)
        found = _Channel(
            settings=settings,
            schedule=[
                engine._outcome_of(item) for item in settings.get("outcomes", ())
            ],
            rates=rates,
            outcome_draws=(
                rng.UniformStream(rng.generator(seed, "outcome", *names))
                if rates
                else None
            ),
            output=(
                rng.sampler(0, None, integer=True)
                if embedding
                else dist("output_tokens", True)
            ),
            latency=dist("latency_s", False),
            input=dist("input_tokens", True) if "input_tokens" in settings else None,
            cached=optional("cached_tokens"),
            reasoning=optional("reasoning_tokens"),
            cache_write=optional("cache_write_tokens"),
            invalid_rate=invalid_rate,
            invalid_draws=(
                rng.UniformStream(rng.generator(seed, "invalid_answer", *names))
                if invalid_rate
                else None
            ),
            table=pricing.table_rates(
                self.world.price(target.model),
                target.provider_type,
                target.model_name or None,
                target.model,
                self.world.price_date,
            ),
            formula=(
                None
                if entries is None
                else pricing.CostFormula(
                    entries, target.provider_type, embedding=embedding
                )
            ),
        )
        self._channels[key] = found
        return found

    def bills_timeouts(self, request: ProviderRequest) -> bool:
        """Whether the world bills an attempt the gateway timed out."""
        return bool(self._channel(request).settings["bill_timeouts"])

    def _billed(self, channel: _Channel, values: list[int]) -> int | None:
        if channel.formula is not None:
            reported = channel.formula.atto(values)
            if reported is not None:
                return pricing.atto_to_nano(reported)
        if channel.table is not None:
            return pricing.atto_to_nano(channel.table.atto(values))
        return None

    def reply(self, request: ProviderRequest) -> ProviderReply:
        channel = self._channel(request)
        if channel.input is not None:
            input_tokens = int(channel.input.draw())
        else:
            input_tokens = estimate_prompt_tokens(request)
        outcome, status = channel.next_outcome()
        latency = float(channel.latency.draw())
        context_window = int(channel.settings.get("context_window", 0)) or (1 << 62)
        too_long = contextwindow.exceeds(
            context_window, input_tokens, request.max_tokens
        )
        if outcome == "ok" and too_long:
            outcome, status = "client_error", 400
        if outcome == "timeout":
            billed = bool(channel.settings["bill_timeouts"])
            out = int(channel.output.draw()) if billed else 0
            cost = self._billed(channel, pricing.usage_values(input_tokens, out))
            return ProviderReply(
                outcome="timeout",
                input_tokens=input_tokens,
                output_tokens=out,
                latency_s=latency,
                cost_nanousd=cost if billed else 0,
                billed=billed,
            )
        if outcome != "ok":
            billed = bool(channel.settings["bill_failed"]) and outcome != "rate_limited"
            cost = self._billed(channel, pricing.usage_values(input_tokens, 0))
            message = None
            if too_long and outcome == "client_error" and status == 400:
                body = contextwindow.error_body(
                    context_window, input_tokens, request.max_tokens
                )
                message = str(json.loads(body)["error"]["message"])
            return ProviderReply(
                outcome=outcome,
                http_status=status,
                input_tokens=input_tokens,
                latency_s=latency,
                cost_nanousd=cost if billed else 0,
                billed=billed,
                error_message=message,
            )
        out = int(channel.output.draw())
        if request.max_tokens is not None and out > request.max_tokens:
            out = request.max_tokens
        cached = (
            0
            if channel.cached is None
            else min(int(channel.cached.draw()), input_tokens)
        )
        reasoning = (
            0 if channel.reasoning is None else min(int(channel.reasoning.draw()), out)
        )
        cache_write = (
            0 if channel.cache_write is None else int(channel.cache_write.draw())
        )
        invalid = channel.invalid_draws is not None and (
            channel.invalid_draws.next() < channel.invalid_rate
        )
        values = pricing.usage_values(input_tokens, out, cached, reasoning, cache_write)
        return ProviderReply(
            outcome="ok",
            input_tokens=input_tokens,
            output_tokens=out,
            latency_s=latency,
            cached_tokens=cached,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
            content=INVALID_ANSWER if invalid else None,
            cost_nanousd=self._billed(channel, values),
        )


def estimate_prompt_tokens(request: ProviderRequest) -> int:
    """The simulator's prompt estimate over the messages as sent."""
    if request.api == "embeddings":
        return tokens.text_tokens(request.text)
    total = tokens.REQUEST_TOKENS
    for parts in request.blocks:
        total += tokens.MESSAGE_TOKENS + sum(tokens.text_tokens(p) for p in parts)
    return total
