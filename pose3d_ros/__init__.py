"""pose3d_ros: real-time 3D human pose for robots.

The core (layouts, image, detect, track, buffer, lift, camera, render) is plain Python over numpy and never
imports rclpy; ``pose3d_ros.ros`` holds the thin ROS 2 nodes. The generated messages (``pose3d_ros.msg``) are
installed by the ament/rosidl build into another ``pose3d_ros`` directory, which ``extend_path`` joins to this
one so that a source checkout sees them too.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
