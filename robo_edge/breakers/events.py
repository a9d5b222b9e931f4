"""A timeline of breaker states, obstacle sources and modes, as JSON lines (pure).

sensor_guard and mode_manager append an event whenever something changes; the scenario runner
reads the files back to time each injected fault's detection and reaction and to draw the
timeline under the trajectory. Times are simulated seconds.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from robo_edge.breakers.breaker import BreakerStatus
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import NS_PER_S, BreakerState, Source
from robo_edge.breakers.mode import ModeOutput


def breaker_events(previous: Mapping[Source, BreakerState],
                   statuses: Mapping[Source, BreakerStatus], now_ns: int) -> list[dict]:
    """Return an event per breaker whose state differs from `previous`."""
    events = []
    for source, status in statuses.items():
        if previous.get(source, BreakerState.CLOSED) is status.state:
            continue
        trip = status.last_trip
        events.append({'t': now_ns / NS_PER_S, 'kind': 'breaker', 'source': source.value,
                       'state': status.state.value, 'latched': status.latched,
                       'detail': trip.text() if trip and not status.closed else ''})
    return events


def selection_event(selection: Selection, now_ns: int) -> list[dict]:
    """Return the event of a changed obstacle source (none when unchanged)."""
    if not selection.changed:
        return []
    return [{'t': now_ns / NS_PER_S, 'kind': 'source', 'source': selection.name,
             'fallback': selection.fallback}]


def mode_event(output: ModeOutput, now_ns: int) -> list[dict]:
    """Return the event of a changed mode (none when unchanged)."""
    if not output.changed:
        return []
    return [{'t': now_ns / NS_PER_S, 'kind': 'mode', 'mode': output.mode.name,
             'reason': output.reason,
             'speed_cap': output.speed_cap}]


@dataclass
class EventLog:
    """Appends events to a JSON-lines file (flushed per event: a killed node loses none)."""

    path: Path | None
    events: list[dict] = field(default_factory=list)
    _file: IO[str] | None = None

    def write(self, events: list[dict]) -> None:
        """Keep and append the events."""
        if not events:
            return
        self.events.extend(events)
        if self.path is None:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open('a', encoding='utf-8')
        for event in events:
            self._file.write(json.dumps(event) + '\n')
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_events(paths: list[Path]) -> list[dict]:
    """Return the events of every file that exists, in time order (bad lines skipped)."""
    events: list[dict] = []
    for path in paths:
        if not path.is_file():
            continue
        for line in path.read_text(encoding='utf-8').splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill -9
            if isinstance(event, dict) and isinstance(event.get('t'), int | float):
                events.append(event)
    return sorted(events, key=lambda e: e['t'])
