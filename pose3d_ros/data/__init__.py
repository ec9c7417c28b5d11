"""Training data for the lifters: 3D motion sources (mocap) and the augmentation that turns them into
2D keypoint windows with their 3D answers."""
