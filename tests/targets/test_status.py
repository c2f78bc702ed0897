"""Status boundaries: met, on track, behind (30 days, 80%), overdue (the day after the deadline), rates."""

from datetime import date, timedelta

import pytest

from app.targets.progress import BEHIND_SHARE, NEAR_DAYS, count_status, rate_status

DEADLINE = date(2023, 9, 30)


def days_before(n: int) -> date:
    return DEADLINE - timedelta(days=n)


@pytest.mark.parametrize(
    ("actual", "target", "as_of", "expected"),
    [
        # met: actual reaches the target, whenever
        (10, 10, days_before(200), "met"),
        (12, 10, DEADLINE + timedelta(days=90), "met"),
        (0, 0, DEADLINE + timedelta(days=1), "met"),  # nothing asked of this township
        # the deadline day itself is still in time; the next day is overdue
        (9, 10, DEADLINE, "on_track"),  # 90% on the last day: not behind, not yet overdue
        (9, 10, DEADLINE + timedelta(days=1), "overdue"),
        (7.9, 10, DEADLINE, "behind"),
        # behind: at most 30 days left AND under 80%
        (7, 10, days_before(30), "behind"),
        (7, 10, days_before(31), "on_track"),
        (8, 10, days_before(30), "on_track"),  # exactly 80% is not behind
        (7.99, 10, days_before(1), "behind"),
        (0, 10, days_before(NEAR_DAYS + 1), "on_track"),  # far from the deadline nothing is behind yet
    ],
)
def test_count_status_boundaries(actual, target, as_of, expected):
    assert count_status(actual, target, DEADLINE, as_of) == expected


def test_the_documented_constants():
    assert NEAR_DAYS == 30 and BEHIND_SHARE == 0.8


def test_no_deadline_is_never_overdue():
    assert count_status(0, 5, None, date(2030, 1, 1)) == "on_track"


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [
        (10.0, 10, "met"),
        (12.5, 10, "met"),
        (9.9, 10, "behind"),
        (-3.0, 10, "behind"),
        (None, 10, "not_available"),
    ],
)
def test_rate_status(actual, target, expected):
    assert rate_status(actual, target) == expected
