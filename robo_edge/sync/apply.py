"""Apply a policy to running nodes whole, or not at all; and when a swap is safe.

No ROS: the node supplies a `ParamIO` (its parameter service clients, each call bounded by a
timeout) and the time. A policy is `{node: {parameter: value}}`; every node must be up before
anything is set (else `pending`). Each parameter's result is checked; one refusal (or a call
that timed out, or a node without a parameter service) restores every parameter already
changed in this policy, on every node touched, to the value it had before.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ACTIVE, PENDING, REFUSED = 'active', 'pending', 'refused'


class CallFailed(Exception):
    """A parameter service call that did not answer (no service, timeout)."""


class ParamIO(Protocol):
    """The parameter services of the running nodes."""

    def ready(self, node: str) -> bool:
        """Return whether `node`'s parameter services are up."""

    def get(self, node: str, names: list[str]) -> dict[str, Any]:
        """Return the current values; raise CallFailed (or KeyError: not declared)."""

    def set(self, node: str, values: Mapping[str, Any]) -> dict[str, str | None]:
        """Set values; return per name None (applied) or the refusal; raise CallFailed."""


@dataclass(frozen=True)
class Refusal:
    """Why a node did not take a value."""

    node: str
    parameter: str
    reason: str

    def __str__(self) -> str:
        return f'{self.node}.{self.parameter}: {self.reason}'


@dataclass
class ApplyResult:
    """What applying one policy did."""

    state: str  # active | pending | refused
    refusals: list[Refusal] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # node.parameter set back
    restore_failures: list[Refusal] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)  # nodes not up (pending)

    def describe(self) -> str:
        """Return one line for logs, diagnostics and the uplink."""
        if self.state == PENDING:
            return f'pending: waiting for {", ".join(self.waiting_for)}'
        if self.state == ACTIVE:
            return 'applied'
        text = f'refused by {"; ".join(map(str, self.refusals))}'
        if self.restored:
            text += f'; restored {", ".join(self.restored)}'
        if self.restore_failures:
            text += f'; NOT restored {"; ".join(map(str, self.restore_failures))}'
        return text


def apply_whole(policy: Mapping[str, Mapping[str, Any]], io: ParamIO) -> ApplyResult:
    """Set every parameter of `policy` or, on the first refusal, none (see module doc)."""
    missing = [node for node in policy if not io.ready(node)]
    if missing:
        return ApplyResult(PENDING, waiting_for=missing)
    changed: list[tuple[str, dict[str, Any]]] = []  # (node, previous values of what was set)
    for node, values in policy.items():
        try:
            before = io.get(node, list(values))
        except (CallFailed, KeyError) as e:
            return _undo(changed, io, [Refusal(node, _names(values), _reason(e))])
        values = {name: _like(value, before.get(name)) for name, value in values.items()}
        try:
            results = io.set(node, values)
        except CallFailed as e:
            # It may have taken some: put all back.
            changed.append((node, before))
            return _undo(changed, io, [Refusal(node, _names(values), str(e))])
        taken = {name: before[name] for name, why in results.items() if why is None}
        if taken:
            changed.append((node, taken))
        refusals = [Refusal(node, name, why or 'refused') for name, why in results.items()
                    if why is not None]
        refusals += [Refusal(node, name, 'no result') for name in values if name not in results]
        if refusals:
            return _undo(changed, io, refusals)
    return ApplyResult(ACTIVE)


def _undo(changed: list[tuple[str, dict[str, Any]]], io: ParamIO,
          refusals: list[Refusal]) -> ApplyResult:
    result = ApplyResult(REFUSED, refusals)
    for node, before in reversed(changed):
        try:
            answers = io.set(node, before)
        except CallFailed as e:
            result.restore_failures.append(Refusal(node, _names(before), str(e)))
            continue
        for name, why in answers.items():
            if why is None:
                result.restored.append(f'{node}.{name}')
            else:
                result.restore_failures.append(Refusal(node, name, why))
    return result


def _like(value: Any, current: Any) -> Any:
    """Return an integer as a float where the parameter is a double (YAML writes 1 for 1.0)."""
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _names(values: Mapping[str, Any]) -> str:
    return ','.join(sorted(values))


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f'not declared: {error.args[0] if error.args else ""}'
    return str(error)


class IdleWatch:
    """Whether the planner said it is idle, recently enough to believe it.

    Never heard, or heard longer than `stale_s` ago, reads busy: a map never swaps under a
    robot that might be moving.
    """

    def __init__(self, stale_s: float) -> None:
        self.stale_ns = int(stale_s * 1e9)
        self._heard_ns: int | None = None
        self._idle = False

    def heard(self, now_ns: int, goal_index: str) -> None:
        """Record one planner status (`goal_index` empty: no goal in progress)."""
        self._heard_ns, self._idle = now_ns, goal_index == ''

    def idle(self, now_ns: int) -> bool:
        """Return whether the planner said idle within `stale_s` of `now_ns`."""
        if self._heard_ns is None or now_ns - self._heard_ns > self.stale_ns:
            return False
        return self._idle

    @property
    def navigating(self) -> bool:
        """Return what the planner said last (False before it said anything)."""
        return self._heard_ns is not None and not self._idle
