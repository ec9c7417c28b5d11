"""Raw buffers -> RGB for every supported encoding, row padding, and an error naming each bad value."""

from array import array

import numpy as np
import pytest

from pose3d_ros.image import ImageFormatError, depth_to_metres, image_to_rgb, letterbox, rgb_to_image_fields

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, size=(4, 5), dtype=np.uint8)


def _encode(encoding: str) -> np.ndarray:
    """The (H, W, C) bytes a camera would send for RGB (or GREY for mono8)."""
    alpha = np.full((4, 5, 1), 7, dtype=np.uint8)
    return {
        "rgb8": RGB,
        "bgr8": RGB[:, :, ::-1],
        "rgba8": np.concatenate([RGB, alpha], axis=2),
        "bgra8": np.concatenate([RGB[:, :, ::-1], alpha], axis=2),
        "mono8": GREY[:, :, None],
    }[encoding]


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8"])
@pytest.mark.parametrize("container", [bytes, bytearray, memoryview, lambda b: array("B", b)])
def test_every_encoding_reads_as_rgb(encoding, container):
    pixels = _encode(encoding)
    out = image_to_rgb(encoding, 4, 5, 5 * pixels.shape[2], container(pixels.tobytes()))
    expected = np.repeat(GREY[:, :, None], 3, axis=2) if encoding == "mono8" else RGB
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8"])
def test_step_padding_is_skipped(encoding):
    pixels = _encode(encoding)
    row = 5 * pixels.shape[2]
    padded = np.full((4, row + 3), 255, dtype=np.uint8)
    padded[:, :row] = pixels.reshape(4, row)
    out = image_to_rgb(encoding, 4, 5, row + 3, padded.tobytes())
    expected = np.repeat(GREY[:, :, None], 3, axis=2) if encoding == "mono8" else RGB
    np.testing.assert_array_equal(out, expected)


def test_rgb8_is_a_zero_copy_view():
    data = bytearray(RGB.tobytes())
    out = image_to_rgb("rgb8", 4, 5, 15, data)
    data[0] = (int(data[0]) + 1) % 256
    assert out[0, 0, 0] == data[0]


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_publish_fields_round_trip(encoding):
    enc, step, data = rgb_to_image_fields(RGB, encoding)
    assert (enc, step, len(data)) == (encoding, 15, 60)
    np.testing.assert_array_equal(image_to_rgb(enc, 4, 5, step, data), RGB)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("yuv422", 4, 5, 10, bytes(40)), "image encoding 'yuv422' not supported; expected rgb8, bgr8"),
        (("mono16", 4, 5, 10, bytes(40)), "'mono16' not supported"),
        (("rgb8", 4, 0, 15, bytes(60)), "empty image (0x4)"),
        (("rgb8", 0, 5, 15, b""), "empty image (5x0)"),
        (("rgb8", 4, 5, 14, bytes(56)), "image step 14 < width 5 x 3 bytes per pixel"),
        (("bgra8", 4, 5, 15, bytes(60)), "image step 15 < width 5 x 4 bytes per pixel"),
        (("rgb8", 4, 5, 15, bytes(59)), "image data has 59 bytes; expected step 15 x height 4 = 60"),
        (("rgb8", 4, 5, 15, [0] * 60), "image data must be bytes-like; got list"),
    ],
)
def test_bad_buffers_name_the_value(args, message):
    with pytest.raises(ImageFormatError) as err:
        image_to_rgb(*args)
    assert message in str(err.value)


def test_bad_publish_input_names_the_value():
    with pytest.raises(ImageFormatError, match="'mono8' not supported"):
        rgb_to_image_fields(RGB, "mono8")
    with pytest.raises(ImageFormatError, match=r"float64 \(4, 5, 3\); expected uint8"):
        rgb_to_image_fields(RGB.astype(float))


def test_letterbox_keeps_aspect_and_reports_the_pixel_map():
    frame = np.zeros((994, 1768, 3), dtype=np.uint8)
    frame[497, 884] = 255
    boxed = letterbox(frame, 640, 480)
    assert boxed.image.shape == (480, 640, 3)
    assert boxed.scale == pytest.approx(640 / 1768)
    assert boxed.offset_px == (0, 60)
    y, x = np.unravel_index(np.argmax(boxed.image[:, :, 0]), (480, 640))
    assert abs(x - (884 * boxed.scale + 0)) <= 1 and abs(y - (497 * boxed.scale + 60)) <= 1


def test_depth_16uc1_millimetres_with_row_padding_and_missing_pixels():
    depth_mm = np.array([[0, 1500, 2000], [65535, 1, 3000]], np.uint16)
    padded = np.zeros((2, 4), np.uint16)
    padded[:, :3] = depth_mm
    metres = depth_to_metres("16UC1", 2, 3, 8, padded.astype("<u2").tobytes())
    assert np.isnan(metres[0, 0])
    np.testing.assert_allclose(metres[0, 1:], [1.5, 2.0])
    np.testing.assert_allclose(metres[1], [65.535, 0.001, 3.0], rtol=1e-6)


def test_depth_32fc1_metres_big_endian_and_non_finite():
    depth = np.array([[1.25, np.inf], [np.nan, -1.0]], np.float32)
    metres = depth_to_metres("32FC1", 2, 2, 8, depth.astype(">f4").tobytes(), is_bigendian=True)
    assert metres[0, 0] == np.float32(1.25) and np.isnan(metres[0, 1]) and np.isnan(metres[1]).all()


@pytest.mark.parametrize("encoding, step, size, message", [
    ("mono16", 6, 12, "depth encoding 'mono16' not supported"),
    ("16UC1", 4, 12, "step 4 < width 3 x 2 bytes"),
    ("16UC1", 6, 10, "data has 10 bytes"),
])
def test_depth_errors_name_the_bad_value(encoding, step, size, message):
    with pytest.raises(ImageFormatError, match=message):
        depth_to_metres(encoding, 2, 3, step, bytes(size))
