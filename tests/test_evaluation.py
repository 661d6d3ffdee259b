"""Scoring a split with test-time views: the schemes, the translation, the training evaluation."""

import numpy as np
import pytest
import torch

from cs324.data.cifar10 import CifarArrays, CifarLoader
from cs324.evaluation import SCHEMES, evaluate_splits, score_scheme, select, translate, view_logits, views_of


def loader(n=60, channels_last=False) -> CifarLoader:
    rng = np.random.default_rng(0)
    arrays = CifarArrays(
        x_train=rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(200) % 10,
        x_test=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(n) % 10,
        classes=tuple(f"c{i}" for i in range(10)),
        source="fake",
    )
    return CifarLoader(arrays, val_size=50, augment="none", eval_batch_size=16, channels_last=channels_last)


def linear_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10)).eval()


def test_translate_moves_pixels_and_fills_with_zeros():
    x = torch.arange(1, 17, dtype=torch.uint8).view(1, 1, 4, 4)
    down = translate(x, 1, 1)
    assert torch.equal(down[0, 0, 1:, 1:], x[0, 0, :3, :3]) and down[0, 0, 0].sum() == down[0, 0, :, 0].sum() == 0
    up = translate(x, -2, 0)
    assert torch.equal(up[0, 0, :2], x[0, 0, 2:]) and up[0, 0, 2:].sum() == 0
    assert translate(x, 0, 0) is x
    assert all(abs(sum(w.values()) - 1) < 1e-12 for w in SCHEMES.values())


def test_schemes_are_scored_and_chosen_on_validation():
    targets = torch.tensor([0, 1, 2, 3])
    right, wrong = torch.eye(4) * 4, torch.eye(4).roll(1, 1) * 4  # logits voting for the target / another class
    logits = {(0, 0, False): wrong, (0, 0, True): right * 1.5}  # the mirror outvotes the plain image
    for d in (1, -1, 2, -2):
        logits[(d, d, False)] = logits[(d, d, True)] = right
    scores = {name: score_scheme(logits, name, targets) for name in SCHEMES}
    assert scores["none"].acc == 0 and scores["flip"].acc == 1 and scores["flip_shift2"].acc == 1
    assert scores["none"].confusion.sum() == 4 and scores["flip"].confusion.trace() == 4
    assert select(scores) == "flip"  # ties go to the scheme with fewer views
    assert select({"flip": scores["none"], "flip_shift1": scores["flip"]}) == "flip_shift1"


def test_views_are_the_mirror_and_the_shift_of_the_same_images():
    data, model = loader(), linear_model()
    logits = view_logits(model, data, "test", views_of(*SCHEMES))
    assert len(logits) == 10 and all(v.shape == (60, 10) for v in logits.values())  # 2 + 4 shifts, each mirrored
    images = data.x["test"]
    with torch.inference_mode():
        mirrored = model(data.normalise(images.flip(3)))
        shifted = model(data.normalise(translate(images, 1, 1)))
    torch.testing.assert_close(logits[(0, 0, True)], mirrored)
    torch.testing.assert_close(logits[(1, 1, False)], shifted)


def test_training_evaluation_reports_the_unflipped_accuracy_from_the_same_passes():
    """Under tta the un-flipped accuracy equals the accuracy without it; the layout changes nothing."""
    model = linear_model()
    plain = evaluate_splits(model, loader(), ("val", "test"), "none")
    tta = evaluate_splits(model, loader(), ("val", "test"), "flip")
    last = evaluate_splits(model, loader(channels_last=True), ("val", "test"), "flip")
    assert tta["val_acc_no_tta"] == plain["val_acc"] and tta["test_acc_no_tta"] == plain["test_acc"]
    assert tta["val_loss"] != plain["val_loss"] and "val_acc_no_tta" not in plain
    assert last["test_acc"] == tta["test_acc"] and last["test_loss"] == pytest.approx(tta["test_loss"], rel=1e-5)
    assert "val_acc_flip" not in tta  # a scheme is not its own ablation


def test_shifted_evaluation_reports_each_smaller_scheme_from_the_same_passes():
    """Under flip_shift2 the mirror-only and the plain accuracies equal those schemes' own evaluations,
    and the shifted score is its own (it differs from the mirror's in loss)."""
    model = linear_model()
    flip = evaluate_splits(model, loader(), ("val", "test"), "flip")
    shifted = evaluate_splits(model, loader(), ("val", "test"), "flip_shift2")
    for split in ("val", "test"):
        assert shifted[f"{split}_acc_flip"] == flip[f"{split}_acc"]
        assert shifted[f"{split}_acc_no_tta"] == flip[f"{split}_acc_no_tta"]
        assert shifted[f"{split}_loss"] != pytest.approx(flip[f"{split}_loss"], rel=1e-6)
    with pytest.raises(ValueError, match="flip_shift9"):
        evaluate_splits(model, loader(), ("val",), "flip_shift9")
