from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from simulator.fakeprovider.gateway import ProviderHarness

# The gateway logs every provider error it sees and the suite provokes many;
# its logger reads this when the first gateway is built.
os.environ.setdefault("RUST_LOG", "off")


@pytest.fixture(scope="session")
def provider_harness() -> Iterator[ProviderHarness]:
    # Real latency: timeout cases need the provider to be slow for real.
    with ProviderHarness(real_latency=True) as harness:
        yield harness
