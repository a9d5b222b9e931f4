"""The outcome of validating one sensor message: accepted, or dropped with a reason."""

import hashlib
from array import array
from dataclasses import dataclass
from enum import Enum

import numpy as np

# Anything hashlib reads without a copy; numpy arrays must be C-contiguous.
Buffer = bytes | bytearray | memoryview | array | np.ndarray


class DropReason(Enum):
    """Why an ingest node dropped a message; the value names the diagnostics key suffix."""

    STRUCTURE = 'structure'
    ENCODING = 'encoding'
    SIZE_MISMATCH = 'size_mismatch'
    NAN = 'nan'
    NON_FINITE = 'non_finite'
    QUATERNION = 'quaternion'
    GRAVITY = 'gravity'
    FUTURE_STAMP = 'future_stamp'
    TOO_OLD = 'too_old'
    BACKWARDS = 'backwards'
    DUPLICATE_STAMP = 'duplicate_stamp'
    ZERO_STAMP = 'zero_stamp'
    EXCEPTION = 'exception'


@dataclass(frozen=True, slots=True)
class Verdict:
    """Accepted when `reason` is None; `nan_count` counts NaN readings of an accepted message."""

    reason: DropReason | None = None
    detail: str = ''
    nan_count: int = 0

    @property
    def ok(self) -> bool:
        """Return True when the message passed."""
        return self.reason is None


ACCEPT = Verdict()


def drop(reason: DropReason, detail: str) -> Verdict:
    """Return a verdict that drops the message for `reason`, explained by `detail`."""
    return Verdict(reason=reason, detail=detail)


def payload_digest(*buffers: Buffer) -> bytes:
    """Return a short digest of one or more byte buffers (bytes, array.array, numpy arrays)."""
    digest = hashlib.blake2b(digest_size=16)
    for buffer in buffers:
        digest.update(buffer)
    return digest.digest()
