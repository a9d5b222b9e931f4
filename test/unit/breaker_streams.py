"""Simulated message streams for the breaker tests: timestamps, not messages."""

import heapq

import numpy as np

MS = 1_000_000
S = 1_000_000_000
T0 = 1_000 * S  # an arbitrary epoch, far from zero


def period_ns(rate_hz):
    return round(S / rate_hz)


def regular(rate_hz, start_ns, end_ns):
    """Arrivals on the nominal schedule in [start, end)."""
    return list(range(start_ns, end_ns, period_ns(rate_hz)))


def jittered(rate_hz, duration_s, rng, jitter=0.2, loss=0.01, start_ns=T0):
    """Arrivals at slot i*T + U(-jitter, +jitter)*T, each lost with probability `loss`."""
    period = period_ns(rate_hz)
    slots = start_ns + period * np.arange(int(duration_s * rate_hz), dtype=np.int64)
    offsets = rng.uniform(-jitter, jitter, slots.size) * period
    kept = rng.random(slots.size) >= loss
    return (slots + offsets.astype(np.int64))[kept]


def run(breaker, arrivals, end_ns, tick_ns=10 * MS, digest=None, valid=None, latency_ns=0):
    """Feed arrivals and check ticks in time order; return the first OPEN time (None: never).

    The breaker is updated at every tick and just before every arrival, as a node does on its
    check timer and its callbacks. `digest(i)` and `valid(i)` describe message i.
    """
    arrivals = [int(t) for t in arrivals]
    start = arrivals[0] if arrivals else end_ns
    ticks = range(start - start % tick_ns, end_ns + 1, tick_ns)
    events = heapq.merge(((t, 1, i) for i, t in enumerate(arrivals)),
                         ((t, 0, -1) for t in ticks))
    opened = None
    for t, is_message, i in events:
        if t > end_ns:
            break
        state = breaker.update(t)
        if opened is None and state.value == 'open':
            opened = t
        if is_message:
            breaker.on_message(t, t - latency_ns,
                               digest(i) if digest else i.to_bytes(4, 'little'),
                               valid(i) if valid else True)
    return opened
