"""The package boundaries (docs/architecture.md): imports point one way, api -> simulate ->
detect -> ingest, and the detector never imports the simulator; the readers, the detector and the
simulator have no database, web or clock inside."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "ingest": {"simulate", "detect", "api"},
    "detect": {"simulate", "api"},
    "simulate": {"api"},
}
#: database, web, scheduling and network libraries: they belong to api/ alone
SERVICE_LIBRARIES = {
    "aiohttp",
    "alembic",
    "apscheduler",
    "fastapi",
    "httpx",
    "psycopg",
    "psycopg2",
    "requests",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "standardwebhooks",
    "starlette",
    "urllib3",
    "uvicorn",
}
#: calls that read the wall clock: the time is always handed in
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
}
PURE = ("ingest", "detect", "simulate")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _imported_packages(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


def _clock_calls(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.func.attr) in CLOCK_CALLS:
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}.{node.func.attr}()")
    return calls


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_packages(path) & FORBIDDEN[package])}"
        for path in _sources(package)
        if _imported_packages(path) & FORBIDDEN[package]
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PURE)
def test_readers_and_detector_use_no_database_web_or_network_library(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_packages(path) & SERVICE_LIBRARIES)}"
        for path in _sources(package)
        if _imported_packages(path) & SERVICE_LIBRARIES
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PURE)
def test_readers_and_detector_never_read_the_wall_clock(package: str) -> None:
    assert [call for path in _sources(package) for call in _clock_calls(path)] == []
