"""SHA-256 per sensor stream over readings and the simulated time each was emitted (pure)."""

import hashlib

import numpy as np

from robo_edge.twin.readings import Reading


class StreamDigests:
    """One running digest per reading type; equal only for identical streams."""

    def __init__(self) -> None:
        self._digests: dict[str, object] = {}

    def add(self, time_ns: int, reading: Reading) -> None:
        """Fold in a reading emitted at `time_ns` (its payload, and its stamp when it differs)."""
        digest = self._digests.setdefault(type(reading).__name__, hashlib.sha256())
        digest.update(time_ns.to_bytes(8, 'little'))
        payload = getattr(reading, 'ranges', None)
        if payload is None:
            payload = getattr(reading, 'rgb', None)
        if payload is None:
            digest.update(repr(reading).encode())  # the repr holds the stamp
            return
        if reading.stamp_ns != time_ns:  # delayed or skewed: the stamp is part of the stream
            digest.update(reading.stamp_ns.to_bytes(8, 'little', signed=True))
        digest.update(np.ascontiguousarray(payload).tobytes())

    def add_all(self, time_ns: int, readings: list[Reading]) -> None:
        """Fold in every reading emitted at `time_ns`."""
        for reading in readings:
            self.add(time_ns, reading)

    def hexdigests(self) -> dict[str, str]:
        """Return the SHA-256 of each stream, by reading type name."""
        return {name: digest.hexdigest() for name, digest in sorted(self._digests.items())}
