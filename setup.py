"""pip-installable core library and `pose3d-ros` command line, for machines without ROS (e.g. training servers).

    pip install .[train]       # lifters, training, export, evaluation on numpy/torch/ONNX Runtime
    pip install .[detect]      # plus the 2D detector (BlazePose's networks from the MediaPipe wheel)

In a ROS 2 workspace, colcon builds this package with CMake (package.xml: ament_cmake) instead, which also
generates the messages in msg/ and installs the nodes, launch and config files; this file is not used there.
"""

from setuptools import find_packages, setup

setup(
    name="pose3d_ros",
    version="0.1.0",
    description="Real-time 3D human pose for robots: causal 2D-to-3D lifting, ROS 2 nodes",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pose3d_ros", "pose3d_ros.*"]),
    package_data={"pose3d_ros": ["weights/*.onnx", "weights/*.md"]},
    install_requires=["numpy>=1.24", "opencv-python-headless>=4.8", "onnxruntime>=1.17", "scipy>=1.10",
                      "pyyaml>=6", "tqdm>=4.60", "transforms3d>=0.4"],
    extras_require={"train": ["torch>=2.2", "onnx>=1.15", "onnxscript>=0.1"],
                    "detect": ["mediapipe==0.10.21", "onnx>=1.15", "tflite==2.18.0"]},
    entry_points={"console_scripts": ["pose3d-ros=pose3d_ros.cli:main"]},
)
