"""The mapper's `static_map` parameter: seed the grid from a nav2 map_server YAML, live.

A mixin for MapperNode (it needs `self.mapper`, an OccupancyMapper, and the node's logger).
A file that fails to load is refused, at start-up and at run time, and the map is kept; the
reason stays in `static_map_error` for the diagnostics.
"""

from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter

from robo_edge.exceptions import MapError
from robo_edge.planning.map_server import load_map
from robo_edge.ros.nav_messages import resample


class StaticMapSeeding:
    """Seeds the mapper's grid from `static_map`; refuses a file that does not load."""

    static_map_error = ''

    def _load_static(self, path: str) -> bool:
        """Seed the grid from a static map; on failure keep the current map and say why."""
        if not path:
            return True
        try:
            grid = load_map(path)
        except MapError as e:
            self.static_map_error = str(e)
            self.get_logger().error(f'static_map not loaded, keeping the current map: {e}')
            return False
        self.mapper.seed_from(resample(grid, self.mapper.geometry))
        self.static_map_error = ''
        self.get_logger().info(f'grid seeded from static map {path}')
        return True

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        for param in params:
            if param.name == 'static_map' and not self._load_static(str(param.value)):
                return SetParametersResult(successful=False, reason=self.static_map_error)
        return SetParametersResult(successful=True)
