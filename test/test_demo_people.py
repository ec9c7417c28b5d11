"""The 2D front end on the real demo video against the by-eye reference: every person found, none twice."""

from pose3d_ros.eval.demo_people import evaluate_demo


def test_blazepose_finds_both_people_of_the_demo_video_without_duplicates():
    score = evaluate_demo("blazepose", backend="onnxruntime")
    overall = score.overall()
    assert overall.shares()["share_found"] >= 0.93, score.table()
    assert overall.duplicates == 0, score.table()
    for name, person in score.people.items():
        assert person.shares()["share_found_clear"] >= 0.9, f"{name}\n{score.table()}"
    assert score.frames_exact_count >= 0.85 * score.frames, score.table()
