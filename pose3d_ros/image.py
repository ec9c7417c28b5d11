"""Raw image buffers (as in sensor_msgs/Image) to and from numpy RGB arrays, with clear errors.

Colour: 8-bit colour and grey encodings are read as RGB, what the detectors take. Depth: 16UC1 (mm) and
32FC1 (m) are read as metres, for placing people in the camera frame.
"""

from __future__ import annotations

from array import array
from typing import NamedTuple

import cv2
import numpy as np

# encoding -> (channels, cv2 conversion to RGB or None when the bytes already are RGB)
_READ = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
}
_WRITE = ("rgb8", "bgr8")
# Larger sides are no camera's: refused before any conversion allocates for them.
MAX_SIDE_PX = 16384
# depth encoding -> (element type, metres per unit)
_DEPTH = {"16UC1": (np.uint16, 1e-3), "32FC1": (np.float32, 1.0)}


class ImageFormatError(ValueError):
    """An image buffer whose encoding, size, step or data length cannot be read."""


def image_to_rgb(
    encoding: str, height: int, width: int, step: int, data: bytes | bytearray | memoryview | array
) -> np.ndarray:
    """Read a raw row-major 8-bit image buffer as RGB.

    ``step`` is the row length in bytes and may exceed ``width * channels`` (row padding); ``data``
    is any bytes-like object (bytes, bytearray, memoryview, array.array) of exactly
    ``step * height`` bytes. Returns (height, width, 3) uint8 RGB. For rgb8 the result is a
    zero-copy view of ``data`` (read-only when ``data`` is): copy it before drawing on it.
    Other encodings return a new contiguous array. Raises ImageFormatError naming the bad value.
    """
    if encoding not in _READ:
        raise ImageFormatError(
            f"image encoding '{encoding}' not supported; expected rgb8, bgr8, rgba8, bgra8 or mono8 "
            "(8-bit colour or grey only)"
        )
    channels, to_rgb = _READ[encoding]
    pixels = _view(encoding, height, width, step, data, channels, np.dtype(np.uint8))
    if to_rgb is None:
        return pixels
    return cv2.cvtColor(pixels if channels > 1 else pixels[:, :, 0], to_rgb)


def depth_to_metres(
    encoding: str, height: int, width: int, step: int, data: bytes | bytearray | memoryview | array,
    is_bigendian: bool = False,
) -> np.ndarray:
    """Read a depth image (REP-118: 16UC1 in millimetres, 32FC1 in metres) as (H, W) float32 metres.

    Missing depth (0 in 16UC1; 0, NaN or inf in 32FC1) becomes NaN. Raises ImageFormatError naming the bad value.
    """
    if encoding not in _DEPTH:
        raise ImageFormatError(f"depth encoding '{encoding}' not supported; expected 16UC1 (mm) or 32FC1 (m)")
    dtype, scale = _DEPTH[encoding]
    depth = _view(encoding, height, width, step, data, 1, np.dtype(dtype).newbyteorder(">" if is_bigendian else "<"))
    metres = depth[:, :, 0].astype(np.float32) * scale
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


def _view(encoding: str, height: int, width: int, step: int, data, channels: int, dtype: np.dtype) -> np.ndarray:
    """(height, width, channels) view of a row-major buffer with row length ``step`` bytes, after checks."""
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"empty image ({width}x{height}); expected width and height > 0")
    if height > MAX_SIDE_PX or width > MAX_SIDE_PX:
        raise ImageFormatError(f"image {width}x{height}; expected each side at most {MAX_SIDE_PX} px (a camera's)")
    pixel_bytes = channels * dtype.itemsize
    if step < width * pixel_bytes:
        raise ImageFormatError(f"image step {step} < width {width} x {pixel_bytes} bytes per pixel for {encoding}")
    try:
        flat = np.frombuffer(data, dtype=np.uint8)
    except TypeError as err:
        raise ImageFormatError(f"image data must be bytes-like; got {type(data).__name__}") from err
    if flat.size != step * height:
        raise ImageFormatError(
            f"image data has {flat.size} bytes; expected step {step} x height {height} = {step * height}"
        )
    return np.ndarray((height, width, channels), dtype=dtype, buffer=flat,
                      strides=(step, pixel_bytes, dtype.itemsize))


def rgb_to_image_fields(rgb: np.ndarray, encoding: str = "rgb8") -> tuple[str, int, bytes]:
    """Pack (H, W, 3) uint8 RGB for an Image message: returns (encoding, step, data), no row padding."""
    if encoding not in _WRITE:
        raise ImageFormatError(f"output image encoding '{encoding}' not supported; expected rgb8 or bgr8")
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ImageFormatError(f"image to publish is {got}; expected uint8 array of shape (H, W, 3)")
    pixels = rgb if encoding == "rgb8" else rgb[:, :, ::-1]
    return encoding, rgb.shape[1] * 3, np.ascontiguousarray(pixels).tobytes()


class Letterboxed(NamedTuple):
    """A resized, padded image and how its pixels relate to the source's.

    ``image_px = source_px * scale + offset_px``. Intrinsics follow the same map: fx and fy are both
    multiplied by ``scale`` (one scale keeps the aspect ratio, so fx/fy stays honest) and
    (cx, cy) become (cx, cy) * scale + offset_px.
    """

    image: np.ndarray
    scale: float
    offset_px: tuple[int, int]


def letterbox(rgb: np.ndarray, width: int, height: int) -> Letterboxed:
    """Fit (H, W, 3) ``rgb`` into ``width`` x ``height`` with one scale, padding the rest with black."""
    src_h, src_w = rgb.shape[:2]
    scale = min(width / src_w, height / src_h)
    new_w, new_h = round(src_w * scale), round(src_h * scale)
    off_x, off_y = (width - new_w) // 2, (height - new_h) // 2
    out = np.zeros((height, width, 3), dtype=np.uint8)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out[off_y:off_y + new_h, off_x:off_x + new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
    return Letterboxed(out, scale, (off_x, off_y))
