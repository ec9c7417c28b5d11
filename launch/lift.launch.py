"""Start the pose3d_ros pipeline: video_source -> keypoint_detector -> lifter, configured by config/pose3d_ros.yaml.

    ros2 launch pose3d_ros lift.launch.py                          # the Sports2D demo video
    ros2 launch pose3d_ros lift.launch.py video:=/path/clip.mp4 rviz:=true
    ros2 launch pose3d_ros lift.launch.py use_video_source:=false \\
        image_topic:=/camera/color/image_raw camera_info_topic:=/camera/color/camera_info   # a camera driver
    ros2 launch pose3d_ros lift.launch.py composed:=true           # one process: less memory
    ros2 launch pose3d_ros lift.launch.py model:=ampose_rf27       # another lifter (pose3d-ros compare)

What it starts is data (NODES, ARGUMENTS, NODE_ARGUMENT_PARAMETERS) so that test/test_launch.py can check
the contract where `launch` itself is not installed.
"""

import os

PACKAGE = "pose3d_ros"
PARAMS_FILE = ("config", "pose3d_ros.yaml")
FASTDDS_PROFILE = ("config", "fastdds.xml")
RVIZ_CONFIG = ("rviz", "pose3d_ros.rviz")

# launch argument -> (default, description)
ARGUMENTS = {
    "params_file": ("", "Parameter file; '' = the package's config/pose3d_ros.yaml"),
    "video": ("", "Video file or camera device for video_source; '' = the Sports2D demo video"),
    "use_video_source": ("true", "Start video_source; false when a camera driver publishes the images"),
    "image_topic": ("image_raw", "Image topic the detector (and a lifter that reads image crops) subscribes to"),
    "camera_info_topic": ("camera_info", "CameraInfo topic the lifter subscribes to"),
    "composed": ("false", "Run detector and lifter in one process (executable 'pipeline'): one interpreter's memory "
                          "instead of two; its latency is no lower (README, Speed)"),
    "rviz": ("false", "Start rviz2 showing skeletons, markers and TF"),
    "model": ("", "Lifter: a name in the package's weights folder (e.g. ampose_rf27; the list and model cards are "
                  "in pose3d_ros/weights/README.md) or a model file; '' = the default causal lifter"),
}
# executable -> node name (its section in the parameter file)
NODES = {"video_source": "video_source", "keypoint_detector": "keypoint_detector", "lifter": "lifter"}
COMPOSED_EXECUTABLE = "pipeline"
# node -> {parameter: launch argument} set on top of the parameter file
NODE_ARGUMENT_PARAMETERS = {"video_source": {"video": "video"}, "lifter": {"model": "model"}}


def rviz_installed() -> bool:
    """Whether the ament index knows rviz2: where it does not, rviz:=true starts the graph without it and says so,
    instead of failing launch while the other nodes keep running."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        get_package_share_directory("rviz2")
    except PackageNotFoundError:
        return False
    return True


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, LogInfo, SetEnvironmentVariable
    from launch.conditions import IfCondition, UnlessCondition
    from launch.substitutions import LaunchConfiguration, PythonExpression
    from launch_ros.actions import Node

    from launch import LaunchDescription

    share = get_package_share_directory(PACKAGE)
    default_params = os.path.join(share, *PARAMS_FILE)
    args = {name: LaunchConfiguration(name) for name in ARGUMENTS}
    params_file = PythonExpression(["'", args["params_file"], "' or '", default_params, "'"])
    remaps = [("image_raw", args["image_topic"]), ("camera_info", args["camera_info_topic"])]
    actions = [DeclareLaunchArgument(name, default_value=default, description=description)
               for name, (default, description) in ARGUMENTS.items()]
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ:
        # Whole camera frames through shared memory between the processes (see config/fastdds.xml).
        actions.append(SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", os.path.join(share, *FASTDDS_PROFILE)))

    def node(executable, condition):
        name = NODES[executable]
        overrides = {p: args[a] for p, a in NODE_ARGUMENT_PARAMETERS.get(name, {}).items()}
        return Node(package=PACKAGE, executable=executable, name=name, output="screen", emulate_tty=True,
                    parameters=[params_file, overrides], remappings=remaps, condition=condition)

    composed = args["composed"]
    actions += [
        node("video_source", IfCondition(args["use_video_source"])),
        node("keypoint_detector", UnlessCondition(composed)),
        node("lifter", UnlessCondition(composed)),
        Node(package=PACKAGE, executable=COMPOSED_EXECUTABLE, output="screen", emulate_tty=True,
             parameters=[params_file, {"model": args["model"]}], remappings=remaps, condition=IfCondition(composed)),
        Node(package="rviz2", executable="rviz2", arguments=["-d", os.path.join(share, *RVIZ_CONFIG)],
             condition=IfCondition(args["rviz"])) if rviz_installed() else
        LogInfo(msg="rviz:=true but rviz2 is not installed here: starting without it (install the rviz2 package "
                    "of your ROS distribution)", condition=IfCondition(args["rviz"])),
    ]
    return LaunchDescription(actions)
