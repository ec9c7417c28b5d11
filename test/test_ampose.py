"""AMPose lifter: output contract, the GCN's graph is the H36M-17 skeleton, ONNX export matches torch."""


import pytest
import torch
from tiny_lifters import assert_onnx_matches_torch, one_thread, randomised  # noqa: F401 (one_thread: a fixture)

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.ampose import AMPose, AMPoseConfig, GCNBlock, skeleton_adjacency

TINY = {"dim": 16, "pairs": 2, "heads": 2}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("rf", [1, 3])
def test_one_root_relative_pose_per_window(rf):
    model = randomised(AMPose(AMPoseConfig(receptive_field=rf, **TINY)))
    out = model(torch.randn(4, rf, 17, 3))
    assert out.shape == (4, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0) and out.abs().max() > 1e-3
    with pytest.raises(ValueError, match=f"window has {rf + 1} frames; this model needs exactly {rf}"):
        model(torch.randn(1, rf + 1, 17, 3))


def test_untrained_model_predicts_every_joint_at_the_pelvis():
    assert torch.all(AMPose(AMPoseConfig(**TINY))(torch.randn(2, 1, 17, 3)) == 0)


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match="receptive_field 0 not supported"):
        AMPoseConfig(receptive_field=0)
    with pytest.raises(ValueError, match=r"dim 30 not supported; expected a positive multiple of heads \(4\)"):
        AMPoseConfig(dim=30)
    with pytest.raises(ValueError, match="num_joints 33 not supported; expected 17"):
        AMPoseConfig(num_joints=33)


def test_gcn_adjacency_is_the_skeleton():
    adjacency = skeleton_adjacency(17, H36M17.bones)
    bones = {frozenset(b) for b in H36M17.bones}
    for i in range(17):
        for j in range(17):
            assert bool(adjacency[i, j]) == (i == j or frozenset((i, j)) in bones), (i, j)
    assert adjacency.sum() == 17 + 2 * len(H36M17.bones)

    model = randomised(AMPose(AMPoseConfig(**TINY)))
    for block in model.gcn_blocks:
        for conv in (block.gcn1, block.gcn2):
            assert torch.equal(conv.adjacency, adjacency)
            weights = conv.edge_weights()
            assert torch.all(weights[~adjacency] == 0) and torch.all(weights[adjacency] > 0)
            torch.testing.assert_close(weights.sum(-1), torch.ones(17))


def test_gcn_block_mixes_only_skeleton_neighbours():
    """Changing one joint's features changes a GCN block (two graph convolutions) only within two bones of it."""
    block = randomised(GCNBlock(8, skeleton_adjacency(17, H36M17.bones), 0.0))
    x = torch.randn(2, 17, 8)
    moved = x.clone()
    moved[:, 8] += torch.randn(8)  # thorax
    with torch.no_grad():
        changed = (block(moved) - block(x)).abs().amax(dim=(0, 2)) > 1e-6
    # thorax; one bone: spine, neck, shoulders; two bones: pelvis, head, elbows
    assert changed.nonzero().flatten().tolist() == [0, 7, 8, 9, 10, 11, 12, 14, 15]


def test_onnx_export_matches_torch(tmp_path):
    meta = assert_onnx_matches_torch(randomised(AMPose(AMPoseConfig(**TINY))), "ampose", tmp_path)
    assert meta["architecture"] == "ampose" and meta["receptive_field"] == "1"
