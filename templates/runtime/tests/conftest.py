from __future__ import annotations

import pytest
from runtime_helpers import RESNET152_CSV, FakeClock

from dilu_runtime.profile import LatencyTable, load_profile


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def resnet152() -> LatencyTable:
    return LatencyTable(load_profile(RESNET152_CSV))
