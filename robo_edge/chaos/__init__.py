"""robo_edge.chaos: chaos as code, faults declared in scenario files and injected in the twin.

`spec` (FaultSpec, validation of a scenario's `faults:` list, the twin-parameter form) and
`injector` (FaultInjector: applies the sensor faults to the twin's readings, seeded, and
reports what it changed). Pure: no rclpy, time is an argument.
"""

from robo_edge.chaos.injector import FaultInjector
from robo_edge.chaos.spec import FaultSpec, from_params, parse_faults, to_params

__all__ = ['FaultInjector', 'FaultSpec', 'from_params', 'parse_faults', 'to_params']
