"""The request layer: ``inference`` and ``feedback`` as the gateway's
endpoints handle them (validation, variant choice and fallback, usage,
feedback checks), on top of :class:`simulator.engine.Engine`.

Both take the virtual start time and return the virtual end time with the
result, so the sync client can move the clock and the async client can
sleep on the virtual loop instead.
"""

from __future__ import annotations

import itertools
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tensorzero import FeedbackResponse

from simulator.config.model import (
    ChatCompletionConfig,
    ChatCompletionVariant,
    Config,
    FunctionConfig,
    frozen_map,
)
from simulator.engine import INF, ROUTED, Call, Context, Engine, FunctionPlan
from simulator.failures import AllVariantsFailed, Failure, RequestError
from simulator.ids import IdMaker, InvalidId, parse_uuid, validate_episode_id
from simulator.ledger import Ledger
from simulator.outputs import chat_text
from simulator.pricing import ATTO_PER_USD
from simulator.prompts import PlainKey, plain_key
from simulator.responses import make_chunks, make_response, make_usage, text_response
from simulator.streamingtimeouts import refuse_ttft, ttft_keys
from simulator.validation import InputValidator, check_roles

_REAL_TIME = _time.time


@dataclass(frozen=True)
class FeedbackRecord:
    metric: str
    value: Any
    inference_id: str | None
    episode_id: str | None
    time_s: float
    feedback_id: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class InferenceTarget:
    """What feedback needs to know about an inference: its function's
    facts, so one instance serves every inference of the function."""

    function: str
    is_json: bool
    output_schema: Mapping[str, Any]


def _target(fn: FunctionConfig) -> InferenceTarget:
    return InferenceTarget(fn.name, fn.type == "json", fn.output_schema)


class Gateway:
    """One simulated gateway: a config, a world and the ledger it writes."""

    def __init__(
        self, config: Config, engine: Engine, ledger: Ledger, ids: IdMaker, epoch: float
    ) -> None:
        self.config = config
        self.engine = engine
        self.ledger = ledger
        self.ids = ids
        self.epoch = epoch
        self.feedback_records: list[FeedbackRecord] = []
        #: inference id (``UUID.int``: a C-level hash, and one object less
        #: per inference for the garbage collector) -> its function's facts,
        #: and the episodes with an answered inference: what feedback looks
        #: up, indexed from the ledger's inference records when feedback
        #: comes (most runs send none, and inferences stay cheaper)
        self._targets: dict[int, InferenceTarget] = {}
        self._episodes: set[int] = set()
        self._indexed = 0
        #: each function's facts for feedback, shared by its inferences
        self._function_targets: dict[str, InferenceTarget] = {
            name: _target(fp.config) for name, fp in engine.functions.items()
        }
        self._model_functions: dict[str, FunctionPlan] = {}
        #: compiled once: the input checks of every function
        self.validators = {
            name: InputValidator(fp.config) for name, fp in engine.functions.items()
        }
        self._no_schemas = InputValidator()
        self._with_schemas = frozenset(
            name for name, check in self.validators.items() if check.has_schemas
        )
        self._ttft = {
            name: ttft_keys(config, fp.config) for name, fp in engine.functions.items()
        }

    # -- inference -------------------------------------------------------------

    def _default_function(self, model_name: str) -> FunctionPlan:
        """``model_name=`` calls run ``tensorzero::default`` with a single
        chat_completion variant named after the model."""
        found = self._model_functions.get(model_name)
        if found is None:
            try:
                self.config.model(model_name)
            except KeyError:
                raise RequestError(
                    400,
                    "Invalid inference target: Invalid model name: Model name "
                    f"'{model_name}' not found in model table",
                ) from None
            variant = ChatCompletionVariant(
                name=model_name,
                type="chat_completion",
                inner=ChatCompletionConfig(model=model_name),
            )
            fn = FunctionConfig(
                name="tensorzero::default",
                type="chat",
                variants=frozen_map({model_name: variant}),
            )
            found = self.engine._function_plan(fn)
            self._model_functions[model_name] = found
            self._function_targets.setdefault(fn.name, _target(fn))
        return found

    def inference(
        self,
        start: float,
        input: Any,
        function_name: str | None,
        model_name: str | None,
        episode_id: Any,
        namespace: str | None,
        stream: bool | None,
        params: Mapping[str, Any] | None,
        variant_name: str | None,
        tags: Mapping[str, str] | None,
    ) -> tuple[Any, float]:
        """Run one inference starting at virtual time ``start``.

        Returns ``(response or chunk list, end time)``; raises
        :class:`Failure` with the gateway's status and message.
        """
        plain = plain_key(input)
        if plain is None:
            check_roles(input)
        if function_name is not None and model_name is not None:
            raise RequestError(
                400,
                "Invalid inference target: Only one of `function_name` or "
                "`model_name` can be provided",
            )
        if function_name is None and model_name is None:
            raise RequestError(
                400,
                "Invalid inference target: Either `function_name` or `model_name` "
                "must be provided",
            )
        if tags:
            for key in tags:
                if key.startswith("tensorzero::"):
                    raise RequestError(
                        400, f"Tag name cannot start with 'tensorzero::': {key}"
                    )
        if function_name is not None:
            fp = self.engine.functions.get(function_name)
            if fp is None:
                raise RequestError(404, f"Unknown function: {function_name}")
        else:
            if variant_name is not None:
                raise RequestError(
                    400,
                    "Invalid inference target: `variant_name` cannot be provided "
                    "when using `model_name`",
                )
            fp = self._default_function(model_name)  # type: ignore[arg-type]
        fn = fp.config
        now_unix = self.epoch + start
        if episode_id is None:
            episode, inference_id = self.ids.uuid7_pair(now_unix)
        else:
            try:
                episode = validate_episode_id(episode_id, max(now_unix, _REAL_TIME()))
            except InvalidId as exc:
                raise RequestError(400, exc.message) from None
            inference_id = self.ids.uuid7(now_unix)
        if plain is None or fn.name in self._with_schemas:
            # a plain text input has nothing to check without schemas
            self.validators.get(fn.name, self._no_schemas).validate(input)
        if variant_name is not None:
            if variant_name not in fp.variants:
                raise RequestError(404, f"Unknown variant: {variant_name}")
            order: Any = (variant_name,)
        else:
            if not fp.variants:
                raise RequestError(500, f"Function `{fn.name}` has no variants")
            order = fp.sampler.order(episode, namespace)
        streaming = bool(stream)
        if streaming:
            keys = self._ttft.get(fn.name)
            refuse_ttft(ttft_keys(self.config, fn) if keys is None else keys)
        if plain is not None and not streaming and not params:
            if type(order) is tuple:
                first = order[0] if order else None
            else:
                # a sampled order is made lazily: take its first variant and
                # keep the rest for the loop below
                rest = iter(order)
                first = next(rest, None)
                order = rest if first is None else itertools.chain((first,), rest)
            if first is not None:
                reply = self._reply_sure(
                    fp, first, episode, inference_id, input, plain, start
                )
                if reply is not None:
                    return reply
        ctx = Context(
            fn.name, "", episode, inference_id, input, params, streaming, tags, plain
        )
        errors: list[tuple[str, Failure]] = []
        t = start
        engine = self.engine
        for name in order:
            ctx.variant = name
            try:
                result = engine.run_variant(
                    fp, fp.variants[name], ctx, t, "generation", params, INF, None
                )
            except Failure as err:
                t = max(t, getattr(err, "at", t))
                if variant_name is not None:
                    self._record_failure(ctx, start, t, err)
                    err.at = t
                    raise
                errors.append((name, err))
                continue
            return self._respond(fp, ctx, start, result, streaming)
        failure = AllVariantsFailed(errors)
        self._record_failure(ctx, start, t, failure)
        failure.at = t
        raise failure

    def _record_failure(
        self, ctx: Context, start: float, end: float, err: Failure
    ) -> None:
        self.ledger.add_inference(
            ctx.inference_id, ctx.episode_id, ctx.function, ctx.variant,
            start, end, err.status, 0, 0, None, err.message,
        )  # fmt: skip

    def _reply_sure(
        self,
        fp: FunctionPlan,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        inp: Any,
        key: PlainKey,
        start: float,
    ) -> tuple[Any, float] | None:
        """The short way through a plain, non-streaming request whose first
        variant has a sure provider (``Engine.answer_plain``): no context,
        no variant result, one call's usage.  ``None`` when it does not
        apply; then nothing has been drawn or written."""
        vp = fp.variants[variant]
        memo = vp.fixed_attempts
        if memo is not None and fp.text_only:
            # the attempt draws nothing: its figures and answer are known
            # from the first request with this input
            attempt = memo.get(key)
            if attempt is None:
                attempt = self.engine.fixed_attempt(vp, inp, key)
            if attempt is ROUTED:
                return None
            (
                tokens, out, cached, reported, billed, latency, roles, model,
                provider, text, cost,
            ) = attempt  # fmt: skip
            end = start + latency
            name = fp.config.name
            ledger = self.ledger
            row = ledger.append(
                start, end, name, variant, episode_id, inference_id, model,
                provider, "generation", tokens, out, billed, "ok", 200, True,
                roles,
            )  # fmt: skip
            ledger.counted[row] = True
            ledger.add_inference(
                inference_id, episode_id, name, variant, start, end, 200, tokens,
                out, reported,
            )  # fmt: skip
            usage = make_usage(tokens, out, cached, cost)
            return text_response(inference_id, episode_id, variant, text, usage), end
        if vp.sure is None:
            return None
        assert vp.model is not None
        call = self.engine.answer_plain(
            vp, fp.config.name, variant, episode_id, inference_id, "generation",
            inp, key, start,
        )  # fmt: skip
        if call is None:
            return None
        self.ledger.counted[call.row] = True
        return self._reply(
            fp, variant, episode_id, inference_id, start, call.end,
            call.input_tokens, call.output_tokens, call.cached_tokens,
            call.reported_atto, vp.model.name, call, False,
        )  # fmt: skip

    def _respond(
        self, fp: FunctionPlan, ctx: Context, start: float, result: Any, streaming: bool
    ) -> tuple[Any, float]:
        """The response to a variant's result: its calls are the usage."""
        counted = self.ledger.counted
        tin = tout = 0
        cached: int | None = None
        atto: int | None = 0
        for call in result.calls:
            counted[call.row] = True
            tin += call.input_tokens
            tout += call.output_tokens
            if call.cached_tokens is not None:
                cached = (cached or 0) + call.cached_tokens
            if atto is not None:
                reported = call.reported_atto
                atto = None if reported is None else atto + reported
        return self._reply(
            fp, ctx.variant, ctx.episode_id, ctx.inference_id, start, result.end,
            tin, tout, cached, atto, result.model, result.answer, streaming,
        )  # fmt: skip

    def _reply(
        self,
        fp: FunctionPlan,
        variant: str,
        episode_id: UUID,
        inference_id: UUID,
        start: float,
        end: float,
        tin: int,
        tout: int,
        cached: int | None,
        atto: int | None,
        model: str,
        answer: Call,
        streaming: bool,
    ) -> tuple[Any, float]:
        """Record a successful inference and build what the agent receives."""
        name = fp.config.name
        self.ledger.add_inference(
            inference_id, episode_id, name, variant, start, end, 200, tin, tout, atto
        )
        usage = make_usage(
            tin, tout, cached, None if atto is None else atto / ATTO_PER_USD
        )
        if fp.text_only and not streaming:
            text = chat_text(model, answer.output_tokens)
            return text_response(inference_id, episode_id, variant, text, usage), end
        output = self.engine.output(fp, model, answer)
        is_json = fp.config.type == "json"
        if streaming:
            chunks = make_chunks(
                is_json, inference_id, episode_id, variant, output, usage
            )
            return chunks, end
        response = make_response(
            is_json, inference_id, episode_id, variant, output, usage
        )
        return response, end

    def _index(self) -> None:
        """Bring the feedback lookups up to the ledger's inference records."""
        self._indexed, answered = self.ledger.answered(self._indexed)
        functions = self._function_targets
        for inference, episode, function in answered:
            self._targets[inference] = functions[function]
            self._episodes.add(episode)

    # -- feedback --------------------------------------------------------------

    def feedback(
        self,
        start: float,
        *,
        metric_name: str,
        value: Any,
        inference_id: Any,
        episode_id: Any,
        dryrun: bool | None,
        tags: Mapping[str, str] | None,
    ) -> tuple[FeedbackResponse, float]:
        """The ``/feedback`` checks, in the gateway's order."""
        for key in tags or {}:
            if key.startswith("tensorzero::"):
                raise RequestError(
                    400, f"Tag name cannot start with 'tensorzero::': {key}"
                )
        if inference_id is not None and episode_id is not None:
            raise RequestError(
                400, "Both episode_id and inference_id cannot be provided"
            )
        metric = self.config.metrics.get(metric_name)
        kind: str
        level: str
        if metric is not None:
            kind, level = metric.type, metric.level
        elif metric_name == "comment":
            kind = "comment"
            if inference_id is not None:
                level = "inference"
            elif episode_id is not None:
                level = "episode"
            else:
                raise RequestError(
                    400, "Exactly one of inference_id or episode_id must be provided"
                )
        elif metric_name == "demonstration":
            kind, level = "demonstration", "inference"
        else:
            raise RequestError(404, f"Unknown metric: {metric_name}")
        raw_target = inference_id if level == "inference" else episode_id
        if raw_target is None:
            raise RequestError(
                400, f'Correct ID was not provided for feedback level "{level}".'
            )
        try:
            target = parse_uuid(raw_target)
        except InvalidId as exc:
            raise RequestError(400, exc.message) from None
        if level == "inference" and target.version != 7:
            # measured: refused at once, before any lookup
            raise RequestError(400, f"Failed to parse UUID as v7: {target}")
        self._index()
        known = (
            target.int in self._targets
            if level == "inference"
            else target.int in self._episodes
        )
        if not known:
            # the gateway polls its database for up to 6 s minus the id's
            # age (at least 1 s) before giving up
            stamp = (target.int >> 80) / 1000.0 if target.version == 7 else 0.0
            age = self.epoch + start - stamp
            wait = max(6.0 - age, 1.0)
            who = "Inference" if level == "inference" else "Episode"
            err = RequestError(400, f"{who} ID: {target} does not exist")
            err.at = start + wait
            raise err
        if kind == "boolean" and not isinstance(value, bool):
            raise RequestError(
                400, f"Feedback value for metric `{metric_name}` must be a boolean"
            )
        if kind == "float" and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise RequestError(
                400, f"Feedback value for metric `{metric_name}` must be a number"
            )
        if kind == "comment" and not isinstance(value, str):
            raise RequestError(400, "Feedback value for a comment must be a string")
        if kind == "demonstration":
            self._check_demonstration(self._targets[target.int], value)
        feedback_id = self.ids.uuid7(self.epoch + start)
        if not dryrun:
            self.feedback_records.append(
                FeedbackRecord(
                    metric_name,
                    value,
                    str(target) if level == "inference" else None,
                    str(target) if level == "episode" else None,
                    start,
                    str(feedback_id),
                    dict(tags or {}),
                )
            )
        return FeedbackResponse(feedback_id=feedback_id), start

    @staticmethod
    def _check_demonstration(target: InferenceTarget, value: Any) -> None:
        if target.is_json:
            if not isinstance(value, Mapping | list | str | int | float | bool):
                raise RequestError(400, "Demonstration does not fit the output schema")
            return
        if not isinstance(value, str | list):
            raise RequestError(
                400, "Demonstration must be a string or an array of content blocks"
            )
