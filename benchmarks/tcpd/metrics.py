"""TCPD's evaluation metrics, reimplemented from van den Burg & Williams (2020), "An Evaluation
of Change Point Detection Algorithms" (arXiv:2003.06222) and the definitions in TCPDBench's
``analysis/scripts/metrics.py``.

* F-measure against several annotators: precision counts a prediction as correct when it lies
  within ``margin`` of any annotator's change point (each true point used at most once);
  recall is averaged over annotators; 0 counts as a change point for everyone.
* Covering (Arbelaez et al. 2010, eq. 8): how well the predicted segmentation covers each
  annotator's segmentation, averaged over annotators.

Change points are 0-based indices of the first observation of a new segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise


def true_positives(truth: Iterable[int], predicted: Iterable[int], margin: int = 5) -> set[int]:
    """The true change points matched by a prediction within ``margin``; each prediction
    matches at most one true point (the nearest unmatched one, smaller index on ties)."""
    unused = set(predicted)
    hits: set[int] = set()
    for tau in sorted(truth):
        near = sorted((abs(tau - x), x) for x in unused if abs(tau - x) <= margin)
        if near:
            hits.add(tau)
            unused.remove(near[0][1])
    return hits


def f_measure(
    annotations: Mapping[str, Iterable[int]],
    predictions: Iterable[int],
    margin: int = 5,
    alpha: float = 0.5,
) -> tuple[float, float, float]:
    """(F, precision, recall) of ``predictions`` against every annotator."""
    per_annotator = [set(cps) | {0} for cps in annotations.values()]
    predicted = set(predictions) | {0}
    pooled = set().union(*per_annotator)
    precision = len(true_positives(pooled, predicted, margin)) / len(predicted)
    recall = sum(
        len(true_positives(cps, predicted, margin)) / len(cps) for cps in per_annotator
    ) / len(per_annotator)
    if precision == 0 and recall == 0:
        return 0.0, 0.0, 0.0
    f = precision * recall / (alpha * recall + (1 - alpha) * precision)
    return f, precision, recall


def segments(locations: Iterable[int], n_obs: int) -> list[range]:
    """The segmentation of ``range(n_obs)`` cut at ``locations`` (0 and out-of-range ignored)."""
    cuts = sorted({c for c in locations if 0 < c < n_obs})
    bounds = [0, *cuts, n_obs]
    return [range(a, b) for a, b in pairwise(bounds)]


def _jaccard(a: range, b: range) -> float:
    inter = max(0, min(a.stop, b.stop) - max(a.start, b.start))
    return inter / (len(a) + len(b) - inter)


def cover_single(predicted: list[range], truth: list[range]) -> float:
    """Covering of the segmentation ``truth`` by ``predicted``."""
    n = sum(len(r) for r in truth)
    return sum(len(r) * max(_jaccard(r, p) for p in predicted) for r in truth) / n


def covering(
    annotations: Mapping[str, Iterable[int]], predictions: Iterable[int], n_obs: int
) -> float:
    """Segmentation covering averaged over annotators."""
    predicted = segments(predictions, n_obs)
    scores = [cover_single(predicted, segments(cps, n_obs)) for cps in annotations.values()]
    return sum(scores) / len(scores)
