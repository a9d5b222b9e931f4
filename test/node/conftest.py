"""Node tests: a fresh rclpy Context per test."""

from collections.abc import Iterator

import pytest
import rclpy


@pytest.fixture
def context() -> Iterator[rclpy.Context]:
    """Return an initialised Context, shut down after the test."""
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)
