"""Measure the Apple Health read path on large exports (run on demand, never in tests).

On the reference export (``--file``, 320 MB), each in its own process:

* ``phenowatch nights FILE --out nights.parquet`` and ``healthkit-to-sqlite FILE db --xml``
  (from PyPI, in its own venv, default /work/bench-venv), run as ``--pairs`` back-to-back pairs
  (the order alternating) so that both see the same load of a shared machine; the medians and
  the median of the per-pair ratios are reported;
* the same path as a library call (``ingest.load`` + ``build_nights``), without the CLI's start-up;
* a bare ``lxml.etree.iterparse`` pass over the Records that builds nothing: the floor for
  reading the XML at all. phenowatch can go below it because it drops the records the nights
  table does not need (raw heart rate) before they are parsed.

On each ``--big`` export (3 GB, 5 GB): ``phenowatch nights`` once.

Wall time, MB/s and peak RSS (``ru_maxrss`` of the child, read by a one-child wrapper process) are
written to benchmarks/results/apple_health.md.

    .venv/bin/python benchmarks/apple_health/make_export.py --megabytes 320
    .venv/bin/python benchmarks/apple_health/run.py --pairs 5 [--big 3GB.xml 5GB.xml]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data" / "apple_health_export.xml"
RESULTS = ROOT / "benchmarks" / "results" / "apple_health.md"
VENV = ROOT / ".venv" / "bin"

# Runs one command and reports its wall time and peak resident memory. A process of its own, so
# RUSAGE_CHILDREN holds exactly one child.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
print(json.dumps({"wall": wall, "peak_kib": peak_kib, "cpu": cpu, "rc": done.returncode,
                  "stderr": done.stderr.decode(errors="replace")[-2000:]}))
"""

LIBRARY = """
import sys
from ingest.load import load
from ingest.nights import NIGHTS_METRICS, build_nights
samples = load(sys.argv[1], metrics=NIGHTS_METRICS, hourly_steps=True).samples
build_nights(samples).write_parquet(sys.argv[2])
"""

FLOOR = """
import sys
from lxml import etree
count = 0
for _, elem in etree.iterparse(sys.argv[1], events=("end",), tag="Record",
                               resolve_entities=False, no_network=True, load_dtd=False):
    count += 1
    elem.clear()
    parent = elem.getparent()
    if parent is not None and parent.tag == "HealthData":
        while elem.getprevious() is not None:
            del parent[0]
print(count)
"""


def measure(command: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{command[0]} failed ({result['rc']}):\n{result['stderr']}")
    return result


def nights_command(export: Path, out: str) -> list[str]:
    return [str(VENV / "phenowatch"), "nights", str(export), "--out", out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DATA)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--big", type=Path, nargs="*", default=[])
    parser.add_argument("--bench-venv", type=Path, default=Path("/work/bench-venv"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    export = args.file.resolve()
    if not export.is_file():
        raise SystemExit(f"{export} is missing: run benchmarks/apple_health/make_export.py first")
    with tempfile.TemporaryDirectory(prefix="phenowatch-bench-") as tmp:
        ours = nights_command(export, f"{tmp}/nights.parquet")
        theirs = [
            str(args.bench_venv / "bin" / "healthkit-to-sqlite"), str(export),
            f"{tmp}/healthkit.db", "--xml", "--silent",
        ]  # fmt: skip
        pairs: list[tuple[dict[str, float], dict[str, float]]] = []
        for i in range(args.pairs):
            order = [("ours", ours), ("theirs", theirs)]
            done: dict[str, dict[str, float]] = {}
            for name, command in order if i % 2 == 0 else order[::-1]:
                Path(f"{tmp}/healthkit.db").unlink(missing_ok=True)
                done[name] = measure(command)
            pairs.append((done["ours"], done["theirs"]))
            print(
                f"pair {i + 1}: phenowatch {done['ours']['wall']:.1f} s, "
                f"healthkit-to-sqlite {done['theirs']['wall']:.1f} s",
                flush=True,
            )
        single = {
            "same path as a library call, no CLI (ingest.load + build_nights)": measure(
                [str(VENV / "python"), "-c", LIBRARY, str(export), f"{tmp}/library.parquet"]
            ),
            "bare lxml iterparse, builds nothing (floor)": measure(
                [str(VENV / "python"), "-c", FLOOR, str(export)]
            ),
        }
        big = {}
        for path in args.big:
            print(f"running phenowatch nights on {path} ...", flush=True)
            out = f"{tmp}/big.parquet"
            big[path.resolve()] = measure(["nice", "-n", "5", *nights_command(path.resolve(), out)])
            big[path.resolve()]["nights"] = _rows(out)
            print(f"  {big[path.resolve()]['wall']:.1f} s", flush=True)
    write_results(args.results, export, pairs, single, big)
    print(f"wrote {args.results}")


def _rows(parquet: str) -> int:
    import polars as pl

    return int(pl.scan_parquet(parquet).select(pl.len()).collect().item())


def _median(values: list[float]) -> float:
    return statistics.median(values)


def write_results(
    path: Path,
    export: Path,
    pairs: list[tuple[dict[str, float], dict[str, float]]],
    single: dict[str, dict[str, float]],
    big: dict[Path, dict[str, float]],
) -> None:
    megabytes = export.stat().st_size / 1e6
    ours = _median([p[0]["wall"] for p in pairs])
    theirs = _median([p[1]["wall"] for p in pairs])
    ratio = _median([p[1]["wall"] / p[0]["wall"] for p in pairs])
    load = os.getloadavg()[0]
    lines = [
        "# Apple Health read path: benchmark",
        "",
        f"Export: `{export.name}` written by `benchmarks/apple_health/make_export.py`, "
        f"{megabytes:.1f} MB (HealthKit Export Version 14 DTD, records grouped by type; heart "
        "rate most of it, plus steps, staged sleep, resting heart rate, HRV with beat-level "
        "children, workouts, summaries).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work (load "
        f"average {load:.1f} when the run ended), Python {platform.python_version()}.",
        "",
        f"## {megabytes:.0f} MB: phenowatch against healthkit-to-sqlite, {len(pairs)} paired runs",
        "",
        "| pair | phenowatch nights | healthkit-to-sqlite 1.0.1 (--xml) | ratio | CPU time "
        "(phenowatch / healthkit-to-sqlite) | CPU ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (a, b) in enumerate(pairs, 1):
        lines.append(
            f"| {i} | {a['wall']:.1f} s | {b['wall']:.1f} s | {b['wall'] / a['wall']:.1f}× "
            f"| {a['cpu']:.1f} s / {b['cpu']:.1f} s | {b['cpu'] / a['cpu']:.1f}× |"
        )
    cpu_ratio = _median([p[1]["cpu"] / p[0]["cpu"] for p in pairs])
    lines += [
        f"| median | {ours:.1f} s ({megabytes / ours:.0f} MB/s) | {theirs:.1f} s "
        f"({megabytes / theirs:.0f} MB/s) | **{ratio:.1f}×** | | **{cpu_ratio:.1f}×** |",
        "",
        "On a loaded machine healthkit-to-sqlite waits for its SQLite writes, which inflates its "
        "wall time; CPU time (user + system) is the fairer comparison there.",
        "",
        f"Peak RSS: phenowatch nights {max(p[0]['peak_kib'] for p in pairs) / 1024:.0f} MiB, "
        f"healthkit-to-sqlite {max(p[1]['peak_kib'] for p in pairs) / 1024:.0f} MiB "
        "(largest of the runs). Target: at least 10× faster (median of the per-pair ratios).",
        "",
        "| other reader of the same file (one run) | wall time | MB/s | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for name, result in single.items():
        lines.append(
            f"| {name} | {result['wall']:.1f} s | {megabytes / result['wall']:.1f} "
            f"| {result['peak_kib'] / 1024:.0f} MiB |"
        )
    if big:
        lines += [
            "",
            "## Exports of any size: `phenowatch nights`, one run each",
            "",
            "| export | size | wall time | CPU time (user + system) | MB/s (wall / CPU) "
            "| peak RSS | nights |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for file, result in big.items():
            size = file.stat().st_size / 1e6
            lines.append(
                f"| `{file.name}` | {size / 1000:.2f} GB | {result['wall']:.1f} s | "
                f"{result['cpu']:.1f} s | {size / result['wall']:.0f} / "
                f"{size / result['cpu']:.0f} | {result['peak_kib'] / 1024:.0f} MiB | "
                f"{result['nights']:,.0f} |"
            )
        lines += ["", "Target: peak RSS under 400 MB whatever the size."]
    lines += [
        "",
        "Reproduce: `.venv/bin/python benchmarks/apple_health/make_export.py --megabytes 320 && "
        ".venv/bin/python benchmarks/apple_health/run.py --pairs 5` (healthkit-to-sqlite "
        "installed in `/work/bench-venv`, never in the project venv); for the big exports, "
        "`make_export.py --megabytes 3000 --out /work/bench-data/export-3gb.xml` (and 5000), "
        "then `run.py --big /work/bench-data/export-3gb.xml /work/bench-data/export-5gb.xml`.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
