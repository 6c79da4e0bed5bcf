"""A variant-skew detector that counts episodes, not inferences.

The commonly published detector reads variant assignments from the
database and compares each variant's share of *inferences* with its
weight.  Two things are wrong with that.  The response already carries
``variant_name``, so no database is needed.  And the gateway assigns the
variant per (function, episode) by hashing the episode id: every inference
of an episode gets the same variant, so one long episode is one draw.
Counting inferences turns a single 300-step episode into "100% skew" and
makes a real skew across episodes look like noise.  This detector records
one draw per episode and tests the episode shares against the weights the
budget was planned with.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.analysis import traffic_shares
from simulator.config.model import Config
from simulator.errors import UsageError

from .config_source import as_config
from .errors import VariantSkew


@dataclass(frozen=True)
class Skew:
    variant: str
    episodes: int
    observed_share: float
    expected_share: float
    #: how many standard deviations the episode count is from the plan
    z: float


class VariantSkewDetector:
    """Watch one function's responses; flag shares the plan did not expect.

    ``expected`` maps variant → planned share of episodes; by default the
    config's own weights.  A variant is skewed once at least
    ``min_episodes`` episodes were seen and its episode count is more than
    ``z`` binomial standard deviations above plan (a variant planned at 0
    is skewed on its first episode).  ``pin_on_skew`` is the variant a
    wrapped client pins for new episodes once skew is found.
    """

    def __init__(
        self,
        config: Config | str | Path | Any,
        function_name: str,
        *,
        expected: Mapping[str, float] | None = None,
        z: float = 3.0,
        min_episodes: int = 10,
        pin_on_skew: str | None = None,
    ) -> None:
        loaded = as_config(config)
        function = loaded.functions.get(function_name)
        if function is None:
            raise UsageError(
                f"VariantSkewDetector: function {function_name!r} is not in the "
                f"config (it has {sorted(loaded.functions)})"
            )
        source = expected if expected is not None else traffic_shares(function)
        planned = {name: float(share) for name, share in source.items()}
        unknown = sorted(set(planned) - set(function.variants))
        if unknown:
            raise UsageError(
                f"VariantSkewDetector: expected= names {unknown}, which "
                f"functions.{function_name} does not have"
            )
        if pin_on_skew is not None and pin_on_skew not in function.variants:
            raise UsageError(
                f"VariantSkewDetector: pin_on_skew={pin_on_skew!r} is not a "
                f"variant of functions.{function_name}"
            )
        total = sum(planned.values())
        if total <= 0:
            raise UsageError("VariantSkewDetector: expected= shares must sum above 0")
        self.function_name = function_name
        self.expected = {name: share / total for name, share in planned.items()}
        self.z = z
        self.min_episodes = min_episodes
        self.pin_on_skew = pin_on_skew
        #: episode id → the variant that episode was assigned
        self.episodes: dict[Any, str] = {}
        self.inferences: Counter[str] = Counter()

    def observe(self, response: Any) -> None:
        """Record one response of this function (others are ignored)."""
        variant = getattr(response, "variant_name", None)
        if variant is None:
            return
        self.inferences[variant] += 1
        # A pinned call says nothing about the sampler, but it is still the
        # episode's variant; the first response of an episode is its draw.
        self.episodes.setdefault(response.episode_id, variant)

    def episode_counts(self) -> Counter[str]:
        return Counter(self.episodes.values())

    def skews(self) -> list[Skew]:
        """Variants whose episode share is above plan, most skewed first."""
        n = len(self.episodes)
        if n == 0:
            return []
        counts = self.episode_counts()
        found = []
        for variant, count in counts.items():
            p = self.expected.get(variant, 0.0)
            if p <= 0.0:
                found.append(Skew(variant, count, count / n, 0.0, math.inf))
                continue
            if n < self.min_episodes:
                continue
            sd = math.sqrt(n * p * (1 - p)) if p < 1 else 0.0
            excess = count - n * p
            z = math.inf if sd == 0 and excess > 0 else (excess / sd if sd else 0.0)
            if z > self.z:
                found.append(Skew(variant, count, count / n, p, z))
        return sorted(found, key=lambda s: -s.z)

    def check(self) -> None:
        """Raise ``VariantSkew`` naming the worst variant, if any is skewed."""
        skews = self.skews()
        if skews:
            worst = skews[0]
            raise VariantSkew(
                f"functions.{self.function_name}: variant {worst.variant!r} served "
                f"{worst.episodes} of {len(self.episodes)} episodes "
                f"({worst.observed_share:.0%}) against a planned "
                f"{worst.expected_share:.0%}; check the experiment's weights in "
                "tensorzero.toml or pin the variant you budgeted for"
            )

    def wrap(self, client: Any) -> Any:
        """A client that observes every response and, once skew is found,
        pins ``pin_on_skew`` for inferences that start a new episode."""
        if inspect.iscoroutinefunction(getattr(client, "inference", None)):
            return _AsyncObserved(self, client)
        return _Observed(self, client)

    def _adjust(self, kwargs: dict[str, Any]) -> None:
        if (
            self.pin_on_skew is not None
            and kwargs.get("function_name") == self.function_name
            and kwargs.get("episode_id") is None
            and kwargs.get("variant_name") is None
            and self.skews()
        ):
            kwargs["variant_name"] = self.pin_on_skew

    def _seen(self, kwargs: Mapping[str, Any], response: Any) -> None:
        if kwargs.get("function_name") == self.function_name:
            self.observe(response)


class _Observed:
    def __init__(self, detector: VariantSkewDetector, client: Any) -> None:
        self.detector = detector
        self.client = client

    def inference(self, **kwargs: Any) -> Any:
        self.detector._adjust(kwargs)
        response = self.client.inference(**kwargs)
        self.detector._seen(kwargs, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class _AsyncObserved:
    def __init__(self, detector: VariantSkewDetector, client: Any) -> None:
        self.detector = detector
        self.client = client

    async def inference(self, **kwargs: Any) -> Any:
        self.detector._adjust(kwargs)
        response = await self.client.inference(**kwargs)
        self.detector._seen(kwargs, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
