"""QoS profiles used by every node (one place to change them)."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

# Camera streams: best effort, newest frame only. A slow consumer skips frames instead of queueing stale ones.
SENSOR = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE,
)
# What the camera publishes: sensor-data QoS (best effort, depth 5), matching camera drivers.
CAMERA_PUBLISHER = qos_profile_sensor_data
# Perception outputs: reliable and shallow, so subscribers get every result while they keep up and never old ones.
RESULTS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
)
# /tf as tf2's TransformBroadcaster publishes it.
TF = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE)
