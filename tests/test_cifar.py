"""CIFAR-10 data layer (fake data in both formats), the reduced VGG, the CIFAR MLP and trainers."""

import json
import pickle

import numpy as np
import pytest
import torch

from cs324.cli import UsageError
from cs324.cnn import cnn_train
from cs324.cnn.cnn_model import CNN, SMALL_MAP, Conv3x3, conv3x3_as_matmul
from cs324.data.cifar10 import (
    CifarDataError,
    CifarLoader,
    augment_batch,
    load_cifar10,
    mixup_batch,
    stratified_split,
)
from cs324.mlp import cifar_mlp
from cs324.mlp.cifar_mlp import CifarMLP


def fake_arrays(n_train=200, n_test=50, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )


@pytest.fixture
def npz_dir(tmp_path):
    a = fake_arrays()
    np.savez_compressed(tmp_path / "cifar10.npz", classes=np.array([f"c{i}" for i in range(10)]), **a)
    return tmp_path


def test_loads_offline_npz(npz_dir):
    arrays = load_cifar10(npz_dir)
    assert arrays.x_train.shape == (200, 32, 32, 3) and arrays.y_test.dtype == np.int64
    assert arrays.classes[3] == "c3"


def test_loads_official_python_release(tmp_path, monkeypatch):
    """The torchvision format: pickled batches in cifar-10-batches-py/ (checksums patched out)."""
    from torchvision.datasets import CIFAR10

    a = fake_arrays(n_train=50, n_test=10)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    to_rows = lambda x: x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # the release stores CHW rows
    for i in range(1, 6):
        sl = slice((i - 1) * 10, i * 10)
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({"data": to_rows(a["x_train"][sl]), "labels": list(a["y_train"][sl])}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": to_rows(a["x_test"]), "labels": list(a["y_test"])}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"k{i}" for i in range(10)]}, f)
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *args, **kwargs: True)
    arrays = load_cifar10(tmp_path)
    assert np.array_equal(arrays.x_train, a["x_train"]) and np.array_equal(arrays.y_test, a["y_test"])
    assert arrays.classes[0] == "k0"


def test_missing_data_names_both_options(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    with pytest.raises(CifarDataError, match="cifar10.npz.*cifar-10-batches-py") as e:
        load_cifar10(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_corrupt_and_malformed_files(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    np.savez_compressed(good / "cifar10.npz", **fake_arrays())
    data = (good / "cifar10.npz").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "cifar10.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CifarDataError, match="truncated or corrupt"):
        load_cifar10(tmp_path / "cut")
    for name, change, message in (
        ("shape", dict(x_train=np.zeros((10, 28, 28, 3), np.uint8), y_train=np.zeros(10, int)), "shape"),
        ("labels", dict(y_train=np.full(200, 12)), "outside 0..9"),
        ("dtype", dict(x_test=np.zeros((50, 32, 32, 3), np.float32)), "dtype"),
    ):
        folder = tmp_path / name
        folder.mkdir()
        np.savez_compressed(folder / "cifar10.npz", **{**fake_arrays(), **change})
        with pytest.raises(CifarDataError, match=message):
            load_cifar10(folder)


def test_environment_variable_is_the_default(npz_dir, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(npz_dir))
    assert load_cifar10().source.endswith("cifar10.npz")


def test_stratified_validation_split():
    labels = np.repeat(np.arange(10), 100)
    train, val = stratified_split(labels, 200, seed=1)
    assert len(val) == 200 and len(np.intersect1d(train, val)) == 0
    assert np.all(np.bincount(labels[val]) == 20)
    assert np.array_equal(val, stratified_split(labels, 200, seed=1)[1])


def test_loader_normalises_with_training_statistics(npz_dir):
    loader = CifarLoader(load_cifar10(npz_dir), val_size=50, batch_size=16, augment="none")
    x = loader.normalise(next(loader.eval_images("val")))
    assert x.dtype == torch.float32 and x.shape == (50, 3, 32, 32) and loader.labels("val").shape == (50,)
    all_train = torch.cat([loader.normalise(loader.x["train"])])
    torch.testing.assert_close(all_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(all_train.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3, rtol=0)
    assert loader.steps_per_epoch == 10  # 150 training images / 16
    a, _ = loader.train_batch(3)
    b, _ = loader.train_batch(3)
    assert torch.equal(a, b)  # a pure function of the step


def test_loader_serves_the_memory_layout_asked_for_and_limits_evaluation(npz_dir):
    arrays = load_cifar10(npz_dir)
    loader = CifarLoader(arrays, val_size=50, batch_size=16, channels_last=True, eval_limit=20)
    x, _ = loader.train_batch(0)
    assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    assert (loader.size("val"), loader.size("test")) == (20, 20) and len(loader.labels("test")) == 20
    assert sum(len(b) for b in loader.eval_images("val")) == 20
    plain = CifarLoader(arrays, val_size=50, batch_size=16)
    assert torch.equal(plain.train_batch(0)[0], x) and plain.train_batch(0)[0].is_contiguous()  # same values
    assert plain.size("test") == 50
    with pytest.raises(ValueError, match="padding"):
        CifarLoader(arrays, val_size=0, pad=-1)


def test_augmentation_flips_and_crops():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    gen = lambda: torch.Generator().manual_seed(0)
    flipped = augment_batch(x, "flip", gen())
    for b in range(2):  # each image is either unchanged or mirrored
        assert torch.equal(flipped[b], x[b]) or torch.equal(flipped[b], x[b].flip(2))
    cropped = augment_batch(x, "flipcrop", gen(), pad=2)
    assert cropped.shape == x.shape
    # a crop of the zero-padded image: every non-zero value comes from the same image
    for b in range(2):
        vals = cropped[b][cropped[b] != 0]
        assert set(vals.tolist()) <= set(x[b].flatten().tolist())
    assert torch.equal(augment_batch(x, "none", gen()), x)


def test_mixup_blends_images_and_labels_with_one_weight():
    """Image i is constant i with label i: after mixup its pixel value must be the mean class of its label
    probabilities, lam i + (1 - lam) j, for one lam across the batch; the probabilities sum to 1."""
    B = 10
    x, y = torch.arange(B, dtype=torch.float32).view(B, 1, 1, 1).expand(B, 3, 4, 4).clone(), torch.arange(B)
    mixed, targets = mixup_batch(x, y, 0.4, torch.Generator().manual_seed(3), classes=B)
    torch.testing.assert_close(targets.sum(1), torch.ones(B))
    torch.testing.assert_close(mixed[:, 0, 0, 0], targets @ torch.arange(B, dtype=torch.float32))
    assert torch.equal(mixed, mixed[:, :1, :1, :1].expand_as(mixed))  # every pixel of an image mixed alike
    weights = targets[torch.arange(B), y]  # each image's own share: lam, or 1 where it met itself
    lam = weights[weights < 1]
    assert len(lam) > 0 and torch.allclose(lam, lam[0]) and 0 < lam[0] < 1
    again = mixup_batch(x, y, 0.4, torch.Generator().manual_seed(3), classes=B)
    assert torch.equal(again[0], mixed) and torch.equal(again[1], targets)  # a function of the generator


def test_loader_mixup_serves_class_probabilities_of_the_same_batch_per_step(npz_dir):
    arrays = load_cifar10(npz_dir)
    loader = CifarLoader(arrays, val_size=50, batch_size=16, mixup=0.2)
    x, targets = loader.train_batch(3)
    assert targets.shape == (16, 10) and torch.allclose(targets.sum(1), torch.ones(16))
    x2, targets2 = loader.train_batch(3)
    assert torch.equal(x, x2) and torch.equal(targets, targets2)
    with pytest.raises(ValueError, match="mixup"):
        CifarLoader(arrays, val_size=0, mixup=-1)


def test_cnn_matches_the_course_table():
    model = CNN(3, 10)
    assert model.num_params() == 9_231_114
    conv = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Conv2d) for p in m.parameters())
    bn = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters())
    assert (conv, bn, sum(p.numel() for p in model.classifier.parameters())) == (9_220_480, 5_504, 5_130)
    expected = [
        (64, 32),
        (64, 16),
        (128, 16),
        (128, 8),
        (256, 8),
        (256, 8),
        (256, 4),
        (512, 4),
        (512, 4),
        (512, 2),
        (512, 2),
        (512, 2),
        (512, 1),
    ]
    x = torch.zeros(2, 3, 32, 32)
    for block, (c, hw) in zip(model.features, expected, strict=True):
        x = block(x)
        assert tuple(x.shape) == (2, c, hw, hw)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_cnn_keeps_default_initialisation():
    torch.manual_seed(0)
    model = CNN(3, 10)
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(3, 64, 3, padding=1)
    torch.testing.assert_close(model.features[0][0].weight, ref.weight)
    bn = model.features[0][1]
    assert torch.equal(bn.weight, torch.ones(64)) and torch.equal(bn.bias, torch.zeros(64))


@pytest.mark.parametrize("shape", [(2, 3, 1, 1), (2, 5, 2, 2), (3, 4, 4, 4), (2, 3, 3, 5)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_conv3x3_as_matmul_matches_the_convolution_in_float64(shape, channels_last):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(shape[1], 6, 3, padding=1).double()
    x = torch.randn(shape, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    ref, ours = conv(x), conv3x3_as_matmul(x, conv.weight, conv.bias)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(ref)
    inputs = (x, conv.weight, conv.bias)
    for g_ours, g_ref in zip(
        torch.autograd.grad(ours, inputs, upstream), torch.autograd.grad(ref, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-12, atol=1e-12)


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.mark.parametrize("enabled", [True, False])  # on by default on AMX CPUs only: both ways on every CPU
def test_conv3x3_takes_the_product_on_small_maps_under_cpu_bf16_autocast_only(enabled, monkeypatch):
    from cs324.cnn import cnn_model

    monkeypatch.setattr(cnn_model, "SMALL_MAP_PRODUCT", enabled)
    torch.manual_seed(0)
    conv = Conv3x3(32, 64).to(memory_format=torch.channels_last)
    for size in (2, 4, 8):
        x = torch.randn(16, 32, size, size).contiguous(memory_format=torch.channels_last).requires_grad_(True)
        reference = conv._conv_forward(x, conv.weight, conv.bias)  # the convolution, float32
        assert torch.equal(conv(x), reference)  # without autocast: always the convolution
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
            expected = (
                conv3x3_as_matmul(x, conv.weight, conv.bias)
                if enabled and size * size <= SMALL_MAP
                else conv._conv_forward(x, conv.weight, conv.bias)
            )
        assert y.dtype == torch.bfloat16 and torch.equal(y, expected)
        # bf16 within its rounding (8 significant bits) of the float32 convolution, output and gradients
        assert _relative_error(y, reference) < 1e-2
        upstream = torch.randn_like(reference)
        grads = torch.autograd.grad(y, (x, conv.weight, conv.bias), upstream)
        grads_ref = torch.autograd.grad(reference, (x, conv.weight, conv.bias), upstream)
        for g, g_ref in zip(grads, grads_ref, strict=True):
            assert _relative_error(g, g_ref) < 1e-2


def test_cifar_mlp_is_pure_mlp():
    model = CifarMLP([64, 32], norm="batch", activation="gelu", dropout=0.1)
    kinds = {type(m).__name__ for m in model.modules()} - {"CifarMLP", "Sequential"}
    assert kinds <= {"Flatten", "Linear", "BatchNorm1d", "LayerNorm", "GELU", "ReLU", "Dropout"}
    assert model(torch.zeros(4, 3, 32, 32)).shape == (4, 10)


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["cnn", "mlp"])
def test_trainers_run_end_to_end_on_fake_data(trainer, npz_dir, tmp_path):
    common = [
        "--data_dir",
        str(npz_dir),
        "--max_steps",
        "4",
        "--eval_freq",
        "2",
        "--val_size",
        "50",
        "--batch_size",
        "16",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    ]
    if trainer == "cnn":
        cnn_train.main(common + ["--augment", "flipcrop", "--tta"])
    else:
        cifar_mlp.main(common + ["--hidden", "32", "--mixup", "0.4"])  # class-probability targets
    import json

    recs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [0, 2, 4]
    assert {"val_acc", "test_acc", "train_loss"} <= recs[-1].keys()
    confusion = json.loads((tmp_path / "run" / "confusion_test.json").read_text())
    assert confusion["n_test"] == 50 and (tmp_path / "run" / "best.pt").exists()
    assert sum(map(sum, confusion["matrix"])) == 50
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["n_val"], config["n_test"]) == (50, 50) and (recs[-1]["n_val"], recs[-1]["n_test"]) == (50, 50)


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["cnn", "mlp"])
def test_same_seed_same_run(trainer, npz_dir, tmp_path):
    """--seed fixes the initial weights too: the model is built after the session seeds the generators."""
    import json

    main = cnn_train.main if trainer == "cnn" else cifar_mlp.main
    extra = [] if trainer == "cnn" else ["--hidden", "32"]
    common = ["--data_dir", str(npz_dir), "--max_steps", "2", "--eval_freq", "2", "--val_size", "50"]
    common += ["--batch_size", "16", "--device", "cpu", "--quiet", "--augment", "flipcrop", *extra]
    runs = []
    for name in ("a", "b"):
        torch.rand(7)  # whatever the global generator held before must not matter
        main(common + ["--out", str(tmp_path / name)])
        records = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        runs.append([(r["step"], r["val_loss"], r.get("train_loss")) for r in records])
    assert runs[0] == runs[1] and runs[0][0][0] == 0
    first, second = (torch.load(tmp_path / n / "last.pt", weights_only=False)["model"] for n in ("a", "b"))
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_cnn_trainer_defaults_are_the_skeletons():
    c = cnn_train.parse([])
    assert (c.learning_rate, c.max_steps, c.batch_size, c.eval_freq, c.optimizer) == (1e-4, 5000, 32, 500, "adam")
    b = cnn_train.parse(["--recipe", "best", "--max_steps", "7"])
    assert b.optimizer == "sgd" and b.max_steps == 7


def test_recipes_are_exactly_spec_and_best_and_plain_and_best():
    assert list(cnn_train.RECIPES) == ["spec", "best"] and list(cifar_mlp.RECIPES) == ["plain", "best"]
    for module, recipes in ((cnn_train, cnn_train.RECIPES), (cifar_mlp, cifar_mlp.RECIPES)):
        for name, values in recipes.items():
            parsed = module.parse(["--recipe", name])
            assert all(getattr(parsed, k) == v for k, v in values.items())
            assert module.config(name) == parsed  # the library's config is the command line's


def test_a_typed_config_refuses_a_setting_it_does_not_have():
    assert cnn_train.config("best", epochs=2).epochs == 2
    with pytest.raises(UsageError, match="CNNConfig has no setting lerning_rate"):
        cnn_train.config("spec", lerning_rate=1.0)
    with pytest.raises(UsageError, match="no recipe 'fast'"):
        cifar_mlp.config("fast")


@pytest.mark.slow
def test_epochs_sets_the_step_budget_from_the_training_split(npz_dir, tmp_path):
    out = tmp_path / "run"
    argv = ["--data_dir", str(npz_dir), "--val_size", "50", "--batch_size", "16", "--epochs", "1.5", "--eval_freq"]
    cifar_mlp.main(argv + ["100", "--hidden", "8", "--device", "cpu", "--quiet", "--out", str(out)])
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 15 and records[-1]["epoch"] == 1.5  # 150 training images / 16 = 10 steps an epoch


def test_missing_data_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    with pytest.raises(SystemExit) as e:
        cnn_train.main(["--data_dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")])
    assert e.value.code == 2 and "cifar10.npz" in capsys.readouterr().err


def test_real_cifar10(cifar10_dir):
    arrays = load_cifar10(cifar10_dir)
    assert arrays.x_train.shape == (50000, 32, 32, 3) and len(arrays.x_test) >= 1000
    assert np.all(np.bincount(arrays.y_train) == 5000)
    assert list(arrays.y_train[:10]) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]


def test_summary_table_totals():
    from torch import nn

    from cs324.mlp.mlp_numpy import MLP as NumpyMLP
    from cs324.summary import layer_table, totals
    from cs324.trace import numpy_mlp_table

    rows = layer_table(CNN(3, 10), (1, 3, 32, 32))
    assert totals(rows)["params"] == 9_231_114
    convs = [r for r in rows if r["layer"] == "Conv2d"]
    assert len(convs) == 8 and convs[0]["output"] == [1, 64, 32, 32] and convs[-1]["output"] == [1, 512, 2, 2]
    assert convs[0]["macs"] == 3 * 64 * 9 * 32 * 32  # one per weight per output position, no bias adds
    linear = layer_table(nn.Linear(2, 20), (1, 2))
    assert linear[0]["macs"] == 40 == numpy_mlp_table(NumpyMLP(2, [20], 2))[0]["macs"]  # one convention everywhere
    mlp_rows = layer_table(CifarMLP([64]), (1, 3, 32, 32))
    assert totals(mlp_rows)["params"] == 3072 * 64 + 2 * 64 + 64 * 10 + 10


@pytest.mark.slow
def test_ablation_runs_variants_and_tabulates_against_full(npz_dir, tmp_path, capsys):
    from cs324.cnn import ablation

    argv = ["--out", str(tmp_path / "abl"), "--variants", "full", "none", "--max_steps", "2", "--eval_freq", "1"]
    argv += ["--device", "cpu", "--extra", "--data_dir", str(npz_dir), "--val_size", "50", "--batch_size", "16"]
    ablation.main(argv)
    rows = {r["variant"]: r for r in json.loads((tmp_path / "abl" / "ablation.json").read_text())}
    assert set(rows) == {"full", "no_tta", "none"}
    assert rows["full"]["delta_val"] == 0 and rows["full"]["delta_test"] == 0
    none = rows["none"]
    assert none["delta_test"] == pytest.approx(none["test_acc"] - rows["full"]["test_acc"])
    config = json.loads((tmp_path / "abl" / "none" / "config.json").read_text())
    assert (config["optimizer"], config["augment"], config["tta"], config["max_steps"]) == ("adam", "none", False, 2)
    metrics = [json.loads(x) for x in (tmp_path / "abl" / "full" / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["val_acc_no_tta"] <= 1 for r in metrics)  # the free TTA ablation is recorded
    capsys.readouterr()
    ablation.main(argv)  # finished variants are kept, not retrained
    assert capsys.readouterr().out.count("already done") == 2
    table = (tmp_path / "abl" / "ablation.md").read_text()
    band = ablation.noise_band(rows["full"]["val_acc"], 50)
    assert "| none |" in table and f"±{band:.4f}" in table
    assert (tmp_path / "abl" / "ablation.png").stat().st_size > 0
    assert (tmp_path / "abl" / "COMMAND.txt").read_text().count("cs324.cnn.ablation") == 1  # the rerun adds none


def test_ablation_noise_band_is_two_standard_errors_of_a_difference():
    from cs324.cnn.ablation import noise_band

    assert noise_band(0.9, 5000) == pytest.approx(2 * (2 * 0.9 * 0.1 / 5000) ** 0.5)
    assert noise_band(0.9, 1000) == pytest.approx(noise_band(0.9, 5000) * 5**0.5)  # 5x fewer images: sqrt(5) wider
    assert noise_band(1.0, 1000) == 0


@pytest.mark.slow
def test_tta_rescoring_a_run_matches_its_training_evaluation(npz_dir, tmp_path, capsys):
    """'flip' re-scores a checkpoint exactly as training's --tta did, 'none' as its un-flipped score."""
    from cs324.cnn import tta

    run = tmp_path / "run"
    cnn_train.main(
        ["--data_dir", str(npz_dir), "--max_steps", "4", "--eval_freq", "2", "--val_size", "50", "--recipe"]
        + ["best", "--batch_size", "16", "--device", "cpu", "--quiet", "--tta", "--out", str(run)]
    )
    tta.main([str(run), "--checkpoint", "last.pt", "--data_dir", str(npz_dir)])
    result = json.loads((run / "tta.json").read_text())
    last = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    flip, plain = result["schemes"]["flip"], result["schemes"]["none"]
    assert flip["val_acc"] == last["val_acc"] and flip["test_acc"] == last["test_acc"]
    assert flip["val_loss"] == pytest.approx(last["val_loss"], rel=1e-5)
    assert flip["test_loss"] == pytest.approx(last["test_loss"], rel=1e-5)
    assert plain["val_acc"] == last["val_acc_no_tta"] and result["step"] == 4 and result["n_test"] == 50
    chosen = result["selected_on_val"]
    assert result["val_acc"] == max(s["val_acc"] for s in result["schemes"].values())
    assert result["test_acc"] == result["schemes"][chosen]["test_acc"]
    assert f"selected on validation: {chosen}" in capsys.readouterr().out
    table = (tmp_path / "tta.md").read_text().splitlines()  # every scored run of the parent folder
    assert len([r for r in table if r.startswith("| run | ") and "views" not in r]) == 4
    assert sum("chosen on val" in r for r in table) == 1
    with pytest.raises(SystemExit) as e:
        tta.main([str(tmp_path / "nowhere")])
    assert e.value.code == 2 and "no checkpoint" in capsys.readouterr().err


def test_tta_table_is_rebuilt_from_copied_results_without_checkpoints(tmp_path, capsys):
    """A run scored under runs/ and copied to results/ without its checkpoints gets its rows by --table alone."""
    from cs324.cnn import tta

    results = tmp_path / "results"
    schemes = {
        name: {"val_acc": 0.5, "test_acc": 0.4, "val_loss": 1.0, "test_loss": 1.1, "views": 1} for name in tta.SCHEMES
    }
    schemes["flip"] = {**schemes["flip"], "val_acc": 0.75, "test_acc": 0.7, "views": 2}
    for run in ("a", "b"):
        (results / run).mkdir(parents=True)
        summary = {"schemes": schemes, "selected_on_val": "flip", "n_val": 5000, "n_test": 1000}
        (results / run / "tta.json").write_text(json.dumps(summary))
    tta.main(["--table", str(results)])
    rows = (results / "tta.md").read_text().splitlines()
    assert sum(r.startswith("| a | ") for r in rows) == sum(r.startswith("| b | ") for r in rows) == len(tta.SCHEMES)
    assert "| a | flip **(chosen on val)** | 2 | 0.7500 | 0.7000 |" in rows
    assert not list(results.glob("*/best.pt"))  # nothing was scored: no checkpoint needed
    for argv, message in (
        ([], "or --table FOLDER"),
        (["--table", str(tmp_path / "nowhere")], "no such folder"),
        (["--table", str(tmp_path)], "no */tta.json"),
    ):
        with pytest.raises(SystemExit) as e:
            tta.main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
