"""The `pose3d-ros` subcommands, one module each."""
