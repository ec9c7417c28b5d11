import sys

from pose3d_ros.cli import main

sys.exit(main())
