"""Replay a cohort folder through the live pipeline, day by day, under a simulated clock.

result = replay_cohort(Path("cohort"), Path("out"))
result.alerts  # what the service raised; also out/alerts.jsonl, nights.csv, report.html
"""

from __future__ import annotations

from api.replay.run import ReplayResult, replay_cohort

__all__ = ["ReplayResult", "replay_cohort"]
