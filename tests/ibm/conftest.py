from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.snapshot import ApiFlavor
from bot.ibm.client import IbmJobSource
from bot.sim.ibm_api import IbmApiSimulator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ibm"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def platform_settings(sim: IbmApiSimulator, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "ibm_api_flavor": ApiFlavor.PLATFORM,
        "ibm_quantum_api_url": sim.platform_url,
        "ibm_cloud_api_key": sim.api_key,
        "ibm_iam_url": sim.iam_url,
        "ibm_service_crns": list(sim.crns),
        "ibm_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def admin_settings(sim: IbmApiSimulator, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "ibm_api_flavor": ApiFlavor.ADMIN,
        "ibm_quantum_api_url": sim.url,
        "ibm_quantum_token": sim.admin_token,
        "ibm_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def sim() -> Iterator[IbmApiSimulator]:
    simulator = IbmApiSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
async def admin_source(sim: IbmApiSimulator) -> AsyncIterator[IbmJobSource]:
    async with IbmJobSource.from_settings(admin_settings(sim)) as source:
        yield source


@pytest.fixture
async def platform_source(sim: IbmApiSimulator) -> AsyncIterator[IbmJobSource]:
    async with IbmJobSource.from_settings(platform_settings(sim)) as source:
        yield source


@pytest.fixture
def closed_port() -> int:
    """A loopback port that nothing listens on, so connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
