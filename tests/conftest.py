"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# speed lives in benchmarks: no Hypothesis example fails for taking long on a busy machine
settings.register_profile("phenowatch", deadline=None)
settings.load_profile("phenowatch")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
PUBLIC_SAMPLES = SHARED / "public-samples"
TCPD = SHARED / "tcpd"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def public_samples() -> Path:
    if not PUBLIC_SAMPLES.is_dir():
        pytest.skip(f"public samples not found at {PUBLIC_SAMPLES} (the shared/ folder is absent)")
    return PUBLIC_SAMPLES


@pytest.fixture
def tcpd_dir() -> Path:
    if not TCPD.is_dir():
        pytest.skip(f"TCPD data not found at {TCPD} (the shared/ folder is absent)")
    return TCPD


PMDATA = SHARED / "real-data" / "pmdata"


@pytest.fixture(scope="session")
def pmdata_dir() -> Path:
    if not PMDATA.is_dir():
        pytest.skip(f"PMData not found at {PMDATA} (the shared/ folder is absent)")
    return PMDATA
