"""The `/safety/scan` side of sensor_guard: which source each slot's scan comes from.

A mixin of SensorGuardNode (robo_edge/nodes/sensor_guard.py), split out to keep each file
readable: the slot decisions on a robot, the composition of the scan (the LiDAR, the LiDAR
with the camera's near returns, the fallback, or no information) and its publication, source
first (robo_edge/ros/scan_source.py).
"""

import numpy as np
from sensor_msgs.msg import LaserScan

from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import Source
from robo_edge.breakers.safety_scan import SafetyScan, fuse_near, no_information, rebin_virtual
from robo_edge.ros import guard_inputs as gi
from robo_edge.ros import scan_source as ss
from robo_edge.ros.stamps import from_msg, to_msg


class SafetyScanSide:
    """The scan-publishing methods of sensor_guard (state lives on the node)."""

    def _fresh(self, lidar: tuple[LaserScan, np.ndarray] | None) -> bool:
        """On a robot (timer ticks): whether the newest LiDAR scan is one not seen before."""
        if lidar is None:
            return False
        stamp = from_msg(lidar[0].header.stamp)
        if stamp == self._last_relayed_ns:
            return False
        self._last_relayed_ns = stamp
        return True

    def _robot_slot(self, tick_ns: int, selection: Selection, fresh_lidar: bool) -> bool:
        """On a robot (timer ticks): whether this tick publishes a `/safety/scan`.

        Each new scan while the LiDAR is live; on a fallback (or none), at once on the switch
        and then once per LiDAR period: the fallback is live within a tick of the breaker
        opening, and nothing downstream waits for scans that will not come.
        """
        if selection.source is Source.LIDAR and fresh_lidar:
            due = True
        elif selection.source is Source.LIDAR and self._lidar.items:
            due = False  # the LiDAR is trusted: its next scan is the next slot
        else:
            period_ns = round(1e9 / float(self.values['scan_rate_hz']))
            due = (selection.changed or self._last_published_ns is None
                   or tick_ns - self._last_published_ns >= period_ns)
        if due:
            self._last_published_ns = tick_ns
        return due

    def _lidar_for(self, tick_ns: int,
                   slot: int | None) -> tuple[LaserScan, np.ndarray] | None:
        if self._exact:
            return None if slot is None else self._lidar.at(slot)
        newest = self._lidar.latest_not_after(tick_ns)
        return newest[1] if newest else None

    def _cross_check(self, tick_ns: int, lidar: tuple[LaserScan, np.ndarray]) -> None:
        newest = self._virtual.latest_not_after(tick_ns)
        if newest is None or tick_ns - newest[0] > self.values['max_virtual_age_s'] * 1e9:
            return
        if Source.PERCEPTION in self.sources:
            scan = gi.beam_scan(lidar[0], lidar[1], self._laser)
            taken = from_msg(lidar[0].header.stamp)
            virtual = self.vote_inputs.seen_from(newest[0], newest[1], taken)
            self.guard.on_scans(tick_ns, scan, virtual,
                                lambda: self.vote_inputs.votes(tick_ns, scan))

    def _check_alone(self, tick_ns: int) -> None:
        """With the LiDAR out, judge each new virtual scan on odometry alone (once)."""
        newest = self._virtual.latest_not_after(tick_ns)
        if (Source.PERCEPTION not in self.sources or newest is None
                or newest[0] == self._alone_checked_ns):
            return
        stamp = self._alone_checked_ns = newest[0]
        self.guard.on_virtual_alone(tick_ns, lambda: self.vote_inputs.solo_vote(stamp))

    def _safety_scan(self, tick_ns: int, source: Source | None,
                     lidar: tuple[LaserScan, np.ndarray] | None) -> SafetyScan:
        self.counts['slots'] += 1
        if source is Source.LIDAR and lidar is not None:
            self.counts['relayed'] += 1
            virtual = self._usable_virtual(tick_ns) if self._trusted(Source.PERCEPTION) else None
            near = float(self.values['union_range_m'])
            if virtual is None or near <= 0:
                return SafetyScan(lidar[1], 'lidar')
            fused = fuse_near(lidar[1], rebin_virtual(virtual, self.layout, self._laser), near)
            self.counts['fused_slots'] += fused.fused is not None
            return fused
        if source is Source.LIDAR:
            self.counts['late_slots'] += 1
        virtual = self._usable_virtual(tick_ns)
        if source is Source.PERCEPTION and virtual is not None:
            self.counts['fallback_slots'] += 1
            return rebin_virtual(virtual, self.layout, self._laser)
        self.counts['none_slots'] += 1
        return no_information(self.layout)

    def _usable_virtual(self, tick_ns: int) -> BeamScan | None:
        """Return the newest virtual scan not later than the tick, if young enough to use."""
        newest = self._virtual.latest_not_after(tick_ns)
        if newest and tick_ns - newest[0] <= self.values['max_virtual_age_s'] * 1e9:
            return newest[1]
        return None

    def _publish_scan(self, tick_ns: int, scan: SafetyScan,
                      lidar: tuple[LaserScan, np.ndarray] | None) -> None:
        # The source first, stamped alike: a consumer holding the scan then finds it.
        self._scan_source_pub.publish(ss.source_msg(
            tick_ns, scan.origin, scan.fused, self._trusted(Source.ODOMETRY),
            self._trusted(Source.IMU)))
        if scan.origin == 'lidar' and lidar is not None:
            msg = lidar[0]
        else:
            layout = self.layout
            msg = LaserScan(angle_min=layout.angle_min, angle_increment=layout.angle_increment,
                            angle_max=layout.angle_min + layout.angle_increment
                            * (layout.beams - 1),
                            range_min=layout.range_min, range_max=layout.range_max,
                            ranges=scan.ranges.tolist())
            msg.header.frame_id = 'laser'
            msg.header.stamp = to_msg(tick_ns)
        self._scan_pub.publish(msg)

    # -- diagnostics ------------------------------------------------------------------------
