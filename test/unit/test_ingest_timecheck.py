"""Stamp checks against the clock and the last accepted stamp, with injected times."""

from robo_edge.ingest.timecheck import StampChecker, StampPolicy
from robo_edge.ingest.verdict import DropReason

MS = 1_000_000
NOW = 1_000_000 * MS
POLICY = StampPolicy(max_future_ns=100 * MS, max_age_ns=500 * MS)


def accepted(checker, stamp, now=NOW):
    verdict = checker.check(stamp, now)
    if verdict.ok:
        checker.accept(stamp)
    return verdict


def test_fresh_stamp_passes():
    assert StampChecker(POLICY).check(NOW - 10 * MS, NOW).ok


def test_zero_and_negative_stamps_are_dropped():
    checker = StampChecker(POLICY)
    assert checker.check(0, NOW).reason is DropReason.ZERO_STAMP
    assert checker.check(-5, NOW).reason is DropReason.ZERO_STAMP


def test_future_stamp_beyond_the_lead_is_dropped():
    checker = StampChecker(POLICY)
    assert checker.check(NOW + 100 * MS, NOW).ok
    verdict = checker.check(NOW + 101 * MS, NOW)
    assert verdict.reason is DropReason.FUTURE_STAMP
    assert '101.0 ms ahead' in verdict.detail


def test_old_stamp_is_dropped():
    checker = StampChecker(POLICY)
    assert checker.check(NOW - 500 * MS, NOW).ok
    verdict = checker.check(NOW - 501 * MS, NOW)
    assert verdict.reason is DropReason.TOO_OLD
    assert '501.0 ms old' in verdict.detail


def test_backwards_and_repeated_stamps_are_dropped():
    checker = StampChecker(POLICY)
    assert accepted(checker, NOW - 10 * MS).ok
    assert accepted(checker, NOW - 20 * MS).reason is DropReason.BACKWARDS
    assert accepted(checker, NOW - 10 * MS).reason is DropReason.DUPLICATE_STAMP
    assert accepted(checker, NOW - 5 * MS).ok
    assert checker.last_ns == NOW - 5 * MS


def test_only_accepted_stamps_set_the_order():
    checker = StampChecker(POLICY)
    assert checker.check(NOW, NOW).ok  # checked but never accepted
    assert checker.check(NOW - MS, NOW).ok
    assert checker.last_ns is None


def test_unknown_clock_skips_age_and_future_but_not_order():
    checker = StampChecker(POLICY)
    assert accepted(checker, 5 * NOW, now=0).ok
    assert accepted(checker, 4 * NOW, now=0).reason is DropReason.BACKWARDS


def test_clock_jumping_back_restarts_the_order():
    checker = StampChecker(POLICY)
    assert accepted(checker, NOW).ok
    restarted = 2 * MS
    assert accepted(checker, restarted, now=restarted).ok
    assert checker.last_ns == restarted
