"""The mapper's `static_map` parameter: seed the grid from a nav2 map_server YAML, live.

A mixin for MapperNode (it needs `self.mapper`, an OccupancyMapper, and the node's logger).
A file that fails to load is refused, at start-up and at run time, and the map is kept; the
reason stays in `static_map_error` for the diagnostics. At start-up the grid is first moved
(under half a cell) onto the static map's cells, so its walls are not resampled off by a
fraction of a cell.
"""

from typing import Any

from robo_edge.exceptions import MapError
from robo_edge.mapping.mapper import GridGeometry, snapped_geometry
from robo_edge.planning.map_server import load_map
from robo_edge.ros.nav_messages import resample


class StaticMapSeeding:
    """Seeds the mapper's grid from `static_map`; refuses a file that does not load."""

    static_map_error = ''

    @staticmethod
    def _on_static_lattice(geometry: GridGeometry, path: str) -> GridGeometry:
        """Return the grid moved onto the static map's cells (at start; later maps resample)."""
        if not path:
            return geometry
        try:
            grid = load_map(path)
        except MapError:
            return geometry  # _load_static refuses it and says why
        return snapped_geometry(geometry, grid.resolution, grid.origin_x, grid.origin_y)

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

    def _retune(self, values: dict[str, Any], changed: dict[str, Any]) -> None:
        """Apply live parameters; a static map that does not load is refused (ValueError)."""
        if 'static_map' in changed and not self._load_static(str(changed['static_map'])):
            raise ValueError(self.static_map_error)
        self.join.wait_s = self.sources.wait_s = float(values['input_wait_s'])
