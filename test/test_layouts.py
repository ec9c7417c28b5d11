"""Joint layouts: affine maps to Human3.6M-17, the same joints from COCO and BlazePose, min confidence, flips."""

import numpy as np
import pytest

from pose3d_ros.layouts import BLAZEPOSE33, COCO17, H36M17, LAYOUTS, Layout, convert, mapping_matrix

SOURCES = [COCO17, BLAZEPOSE33]


@pytest.mark.parametrize("src", SOURCES, ids=lambda layout: layout.name)
def test_mapped_positions_are_affine_combinations(src):
    w = mapping_matrix(src, H36M17)
    assert w.shape == (17, src.num_joints)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2, 3, src.num_joints, 2))
    shift = np.array([13.0, -7.0])
    mapped, _ = convert(points, np.ones(points.shape[:-1]), src, H36M17)
    shifted, _ = convert(points + shift, np.ones(points.shape[:-1]), src, H36M17)
    assert mapped.shape == (2, 3, 17, 2)
    np.testing.assert_allclose(shifted, mapped + shift, atol=1e-12)


def test_coco_and_blazepose_give_the_same_h36m_joints():
    rng = np.random.default_rng(1)
    coco_points = rng.uniform(0, 640, size=(COCO17.num_joints, 2))
    coco_conf = rng.uniform(0, 1, size=COCO17.num_joints)
    blaze_points = rng.uniform(0, 640, size=(BLAZEPOSE33.num_joints, 2))  # joints COCO lacks: noise
    blaze_conf = rng.uniform(0, 1, size=BLAZEPOSE33.num_joints)
    for name, i in COCO17.index.items():
        blaze_points[BLAZEPOSE33.index[name]] = coco_points[i]
        blaze_conf[BLAZEPOSE33.index[name]] = coco_conf[i]
    from_coco = convert(coco_points, coco_conf, COCO17, H36M17)
    from_blaze = convert(blaze_points, blaze_conf, BLAZEPOSE33, H36M17)
    np.testing.assert_allclose(from_blaze[0], from_coco[0], atol=1e-9)
    np.testing.assert_array_equal(from_blaze[1], from_coco[1])


def test_direct_joints_copy_and_derived_joints_are_means():
    rng = np.random.default_rng(2)
    points = rng.uniform(0, 640, size=(COCO17.num_joints, 2))
    mapped, _ = convert(points, np.ones(COCO17.num_joints), COCO17, H36M17)
    at = {n: points[i] for n, i in COCO17.index.items()}
    np.testing.assert_allclose(mapped[H36M17.index["left_wrist"]], at["left_wrist"])
    np.testing.assert_allclose(mapped[H36M17.index["pelvis"]], (at["left_hip"] + at["right_hip"]) / 2)
    np.testing.assert_allclose(mapped[H36M17.index["thorax"]], (at["left_shoulder"] + at["right_shoulder"]) / 2)
    np.testing.assert_allclose(mapped[H36M17.index["neck_nose"]], at["nose"])


def test_mapped_confidence_is_the_min_of_its_sources():
    confidence = np.linspace(0.9, 0.1, COCO17.num_joints).astype(np.float32)
    _, mapped = convert(np.zeros((COCO17.num_joints, 2)), confidence, COCO17, H36M17)
    conf = {n: confidence[i] for n, i in COCO17.index.items()}
    assert mapped.dtype == np.float32
    assert mapped[H36M17.index["left_knee"]] == conf["left_knee"]
    assert mapped[H36M17.index["pelvis"]] == min(conf["left_hip"], conf["right_hip"])
    assert mapped[H36M17.index["spine"]] == min(conf[n] for n in ("left_hip", "right_hip", "left_shoulder",
                                                                  "right_shoulder"))
    # head uses the shoulders with negative weight: they still bound its confidence
    assert mapped[H36M17.index["head"]] == min(conf[n] for n in ("left_ear", "right_ear", "nose", "left_shoulder",
                                                                 "right_shoulder"))


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=lambda layout: layout.name)
def test_flip_permutation_swaps_left_and_right(layout):
    perm = layout.flip_permutation()
    np.testing.assert_array_equal(perm[perm], np.arange(layout.num_joints))
    for i, name in enumerate(layout.names):
        flipped = layout.names[perm[i]]
        if name.startswith("left_"):
            assert flipped == "right_" + name[5:]
        elif name.startswith("right_"):
            assert flipped == "left_" + name[6:]
        else:
            assert flipped == name
    assert not np.array_equal(perm, np.arange(layout.num_joints))


def test_same_layout_maps_to_itself():
    np.testing.assert_array_equal(mapping_matrix(COCO17, COCO17), np.eye(17))


@pytest.mark.parametrize("dst", [BLAZEPOSE33, COCO17, Layout("my_rig", ("a", "b"), ())], ids=lambda layout: layout.name)
def test_unknown_target_layout_is_named(dst):
    with pytest.raises(ValueError, match=f"'{dst.name}'"):
        mapping_matrix(H36M17, dst)


def test_source_lacking_a_needed_joint_is_named():
    with pytest.raises(ValueError, match="'hips_only' lacks joint 'right_hip'"):
        mapping_matrix(Layout("hips_only", ("left_hip",), ()), H36M17)
