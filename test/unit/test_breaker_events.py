"""The breaker/mode timeline: events on change only, JSON lines that survive a cut last line."""

import json
from pathlib import Path

from robo_edge.breakers.breaker import Breaker, default_config
from robo_edge.breakers.events import (
    EventLog,
    breaker_events,
    mode_event,
    read_events,
    selection_event,
)
from robo_edge.breakers.fallback import FallbackChain
from robo_edge.breakers.faults import NS_PER_S, BreakerState, Source
from robo_edge.breakers.mode import ModeConfig, ModeManager

MS = 1_000_000


def test_a_silent_lidar_gives_one_open_event_then_none() -> None:
    breaker = Breaker(Source.LIDAR, default_config(Source.LIDAR), 0)
    previous: dict[Source, BreakerState] = {}
    events = []
    for k in range(1, 40):  # messages until 2.5 s, then silence to 3.9 s
        now = k * 100 * MS
        if now <= 2500 * MS:
            breaker.on_message(now, now, bytes([k % 256]))
        breaker.update(now)
        status = breaker.status()
        events += breaker_events(previous, {Source.LIDAR: status}, now)
        previous = {Source.LIDAR: status.state}
    assert len(events) == 1
    event = events[0]
    assert event['kind'] == 'breaker' and event['state'] == 'open'
    assert event['detail'].startswith('silence')
    assert 2.8 <= event['t'] <= 2.9  # 350 ms after the last scan, on a 100 ms tick


def test_selection_and_mode_events_only_on_change() -> None:
    chain = FallbackChain(start_ns=0)
    manager = ModeManager(ModeConfig(), 0)
    closed = {s: BreakerState.CLOSED for s in Source}
    assert selection_event(chain.select(0, closed), 0) == []
    lidar_open = {**closed, Source.LIDAR: BreakerState.OPEN}
    selection = chain.select(NS_PER_S, lidar_open)
    [event] = selection_event(selection, NS_PER_S)
    assert event == {'t': 1.0, 'kind': 'source', 'source': 'perception', 'fallback': True}
    [mode] = mode_event(manager.update(NS_PER_S, lidar_open, selection), NS_PER_S)
    assert mode['mode'] == 'DEGRADED' and mode['speed_cap'] == 0.3
    assert mode_event(manager.update(2 * NS_PER_S, lidar_open, chain.select(2 * NS_PER_S,
                                                                             lidar_open)),
                      2 * NS_PER_S) == []


def test_log_appends_lines_and_reader_skips_a_cut_line(tmp_path: Path) -> None:
    first, second = tmp_path / 'a.jsonl', tmp_path / 'b.jsonl'
    log = EventLog(first)
    log.write([{'t': 2.0, 'kind': 'mode', 'mode': 'DEGRADED'}])
    log.write([])
    log.close()
    second.write_text(json.dumps({'t': 1.0, 'kind': 'breaker'}) + '\n{"t": 3.0, "ki',
                      encoding='utf-8')
    events = read_events([first, second, tmp_path / 'missing.jsonl'])
    assert [e['t'] for e in events] == [1.0, 2.0]
    assert len(log.events) == 1
