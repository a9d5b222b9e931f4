"""The ingest gate: order of checks, exceptions as drops, health bookkeeping."""

from robo_edge.health.report import Level
from robo_edge.health.stream import HealthConfig
from robo_edge.ingest.gate import DROP_REASONS, IngestGate
from robo_edge.ingest.timecheck import StampPolicy
from robo_edge.ingest.verdict import ACCEPT, DropReason, Verdict, drop

MS = 1_000_000
T0 = 1_000_000 * MS


def gate(frozen_repeats=3):
    return IngestGate(
        StampPolicy(max_future_ns=100 * MS, max_age_ns=500 * MS),
        HealthConfig(nominal_rate_hz=10.0, frozen_repeats=frozen_repeats),
    )


def digest_of(value):
    return lambda: bytes([value])


def test_valid_message_is_accepted_and_counted():
    g = gate()
    admission = g.admit(T0, T0 - MS, lambda: ACCEPT, digest_of(1))
    assert admission.accepted
    report = g.health.report(T0)
    assert (report.received, report.republished) == (1, 1)


def test_content_drop_wins_over_stamp_drop_and_skips_hashing():
    g = gate()

    def never_called():
        raise AssertionError('hashed a dropped message')

    admission = g.admit(T0, 0, lambda: drop(DropReason.ENCODING, 'bad'), never_called)
    assert admission.verdict.reason is DropReason.ENCODING
    assert g.health.report(T0).drops['encoding'] == 1


def test_stamp_drop_after_valid_content():
    g = gate()
    admission = g.admit(T0, T0 + 200 * MS, lambda: ACCEPT, digest_of(1))
    assert admission.verdict.reason is DropReason.FUTURE_STAMP


def test_exceptions_in_validation_or_hashing_become_drops():
    g = gate()

    def explode():
        raise ValueError('garbage')

    first = g.admit(T0, T0, explode, digest_of(1))
    second = g.admit(T0, T0, lambda: ACCEPT, explode)
    assert first.verdict.reason is DropReason.EXCEPTION
    assert second.verdict.reason is DropReason.EXCEPTION
    report = g.health.report(T0)
    assert report.drops['exception'] == 2
    assert report.last_drop_reason == 'exception'
    assert 'ValueError: garbage' in report.last_drop_detail


def test_backwards_stamp_after_accept():
    g = gate()
    assert g.admit(T0, T0 - 10 * MS, lambda: ACCEPT, digest_of(1)).accepted
    assert (
        g.admit(T0, T0 - 20 * MS, lambda: ACCEPT, digest_of(2)).verdict.reason
        is DropReason.BACKWARDS
    )


def test_nan_count_of_passing_scans_is_kept():
    g = gate()
    g.admit(T0, T0, lambda: Verdict(nan_count=7), digest_of(1))
    assert g.health.report(T0).nan_readings == 7


def test_frozen_payloads_are_still_accepted_but_flagged():
    g = gate(frozen_repeats=3)
    admissions = [
        g.admit(T0 + i * 100 * MS, T0 + i * 100 * MS, lambda: ACCEPT, digest_of(9))
        for i in range(4)
    ]
    assert all(a.accepted for a in admissions)
    assert [a.frozen for a in admissions] == [False, False, True, True]
    assert g.health.level(T0 + 300 * MS)[0] is Level.ERROR


def test_every_reason_has_a_counter_from_the_start():
    report = gate().health.report(T0)
    assert set(report.drops) == set(DROP_REASONS)
    assert all(count == 0 for count in report.drops.values())
