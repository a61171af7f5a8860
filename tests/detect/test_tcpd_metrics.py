"""TCPD's F1 and covering, on the published worked examples and hand-computed cases."""

from __future__ import annotations

import json

import pytest

from benchmarks.tcpd.metrics import covering, f_measure, segments, true_positives


def test_true_positives_never_count_a_prediction_twice() -> None:
    assert true_positives({1, 10, 20, 23}, {3, 8, 20}) == {1, 10, 20}
    assert true_positives({1, 10, 20, 23}, {1, 3, 5, 8, 20}) == {1, 10, 20}
    assert true_positives({1, 2, 3}, set()) == set()
    # 20 and 23 both within 5 of a single prediction at 21: only one is matched
    assert true_positives({20, 23}, {21}) == {20}


@pytest.mark.parametrize(
    ("annotations", "predictions", "expected"),
    [
        ({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20], 1.0),
        ({"1": [], "2": [10], "3": [50]}, [10], 0.9090909090909091),
        ({"1": [], "2": [10], "3": [50]}, [], 0.8),
        # by hand: X = {0, 30}; pooled truth {0, 10}: P = 1/2; recall (1/2 + 1/1) / 2 = 3/4
        ({"1": [10], "2": []}, [30], 2 * 0.5 * 0.75 / (0.5 + 0.75)),
    ],
)
def test_f_measure(
    annotations: dict[str, list[int]], predictions: list[int], expected: float
) -> None:
    assert f_measure(annotations, predictions)[0] == pytest.approx(expected)


def test_segments_cut_at_change_points() -> None:
    assert segments([3, 5], 8) == [range(0, 3), range(3, 5), range(5, 8)]
    assert segments([0, 4], 6) == [range(0, 4), range(4, 6)]


@pytest.mark.parametrize(
    ("annotations", "predictions", "n", "expected"),
    [
        ({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45, 0.7962962962962963),
        ({"1": [], "2": [10], "3": [40]}, [10], 45, 0.7954144620811286),
        ({"1": [], "2": [10], "3": [40]}, [], 45, 0.8189300411522634),
        # by hand: truth [0,5) [5,10), prediction [0,10): each covered 5/10 -> 0.5
        ({"1": [5]}, [], 10, 0.5),
    ],
)
def test_covering(
    annotations: dict[str, list[int]], predictions: list[int], n: int, expected: float
) -> None:
    assert covering(annotations, predictions, n) == pytest.approx(expected)


def test_zero_detector_on_the_shared_series_matches_the_published_zero(tcpd_dir) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.tcpd.run import DROPPED, QUALITY_CONTROL, load_series

    annotations = json.loads((tcpd_dir / "annotations.json").read_text())
    f1, cover = [], []
    for path in sorted(tcpd_dir.glob("*.json")):
        name = path.stem
        if name == "annotations" or name in QUALITY_CONTROL | DROPPED:
            continue
        x = load_series(path)
        if x.shape[1] == 1:
            f1.append(f_measure(annotations[name], [])[0])
            cover.append(covering(annotations[name], [], x.shape[0]))
    assert sum(f1) / len(f1) == pytest.approx(0.647, abs=5e-4)
    assert sum(cover) / len(cover) == pytest.approx(0.557, abs=5e-4)
