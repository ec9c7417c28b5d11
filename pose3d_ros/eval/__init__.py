"""Evaluation of 3D pose against references: metrics, and a multi-view reference built from real recordings."""
