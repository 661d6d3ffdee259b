"""CIFAR-10 data layer (fake data in both formats), the reduced VGG, the CIFAR MLP and trainers."""

import json
import pickle

import numpy as np
import pytest
import torch

from cs324.cifar import lr_factor
from cs324.cnn import cnn_train
from cs324.cnn.cnn_model import CNN
from cs324.data.cifar10 import CifarDataError, CifarLoader, augment_batch, load_cifar10, stratified_split
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
    x, y = next(loader.eval_batches("val"))
    assert x.dtype == torch.float32 and x.shape[1:] == (3, 32, 32)
    all_train = torch.cat([loader.normalise(loader.x["train"])])
    torch.testing.assert_close(all_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(all_train.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3, rtol=0)
    assert loader.steps_per_epoch == 10  # 150 training images / 16
    a, _ = loader.train_batch(3)
    b, _ = loader.train_batch(3)
    assert torch.equal(a, b)  # a pure function of the step


def test_augmentation_flips_crops_and_cuts():
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
    cut = augment_batch(x, "flipcrop_cutout", gen(), pad=0, cutout=4)
    assert (cut == 0).any() and not (x == 0).any()
    assert torch.equal(augment_batch(x, "none", gen()), x)


def test_alternating_flip_mirrors_each_image_in_exactly_one_of_two_epochs(npz_dir):
    arrays = load_cifar10(npz_dir)
    loader = CifarLoader(arrays, val_size=0, batch_size=40, augment="flip", alternate_flip=True, seed=1)
    plain = CifarLoader(arrays, val_size=0, batch_size=40, augment="none", seed=1)
    per_epoch = loader.steps_per_epoch  # 200 images / 40 = 5 steps

    def mirrored(epoch: int) -> dict[int, bool]:
        """image index -> whether the loader served it mirrored in ``epoch``."""
        from cs324.data.batches import batch_indices

        seen = {}
        for step in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            x, _ = loader.train_batch(step)
            ref, _ = plain.train_batch(step)
            for i, k in enumerate(batch_indices(step, loader.n_train, 40, 1)):
                assert torch.equal(x[i], ref[i]) != torch.equal(x[i], ref[i].flip(2))  # not symmetric images
                seen[int(k)] = torch.equal(x[i], ref[i].flip(2))
        return seen

    e0, e1, e2 = mirrored(0), mirrored(1), mirrored(2)
    assert len(e0) == loader.n_train == 200
    assert all(e0[k] != e1[k] for k in e0)  # each image mirrored in exactly one of two epochs
    assert e0 == e2
    assert 60 < sum(e0.values()) < 140  # about half, by a seeded coin
    with pytest.raises(ValueError, match="padding"):
        CifarLoader(arrays, val_size=0, pad=-1)


@pytest.mark.slow
def test_crop_pad_and_alternate_flip_reach_the_loader(npz_dir, tmp_path, monkeypatch):
    import cs324.cifar

    seen = {}

    class Spy(CifarLoader):
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(cs324.cifar, "CifarLoader", Spy)
    argv = ["--recipe", "best", "--data_dir", str(npz_dir), "--max_steps", "1", "--eval_freq", "1", "--val_size", "50"]
    argv += ["--crop_pad", "2", "--alternate_flip", "--device", "cpu", "--out", str(tmp_path / "r"), "--quiet"]
    cnn_train.main(argv)
    assert seen["pad"] == 2 and seen["alternate_flip"] is True and seen["augment"] == "flipcrop"
    assert cnn_train.parse(["--recipe", "best"]).crop_pad == 4  # the default keeps the earlier runs' crop
    assert not cnn_train.parse(["--recipe", "best"]).alternate_flip


def test_lr_schedules():
    assert lr_factor(0, 100, "constant") == 1.0
    assert lr_factor(0, 100, "onecycle", 0.2) == 0.0 and lr_factor(20, 100, "onecycle", 0.2) == 1.0
    assert lr_factor(100, 100, "onecycle", 0.2) == 0.0 and lr_factor(60, 100, "onecycle", 0.2) == pytest.approx(0.5)
    assert lr_factor(50, 100, "cosine") == pytest.approx(0.5)


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
        cifar_mlp.main(common + ["--hidden", "32"])
    import json

    recs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [0, 2, 4]
    assert {"val_acc", "test_acc", "train_loss"} <= recs[-1].keys()
    confusion = json.loads((tmp_path / "run" / "confusion_test.json").read_text())
    assert confusion["n_test"] == 50 and (tmp_path / "run" / "best.pt").exists()


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
    from cs324.summary import layer_table, totals

    rows = layer_table(CNN(3, 10), (1, 3, 32, 32))
    assert totals(rows)["params"] == 9_231_114
    convs = [r for r in rows if r["layer"] == "Conv2d"]
    assert len(convs) == 8 and convs[0]["output"] == [1, 64, 32, 32] and convs[-1]["output"] == [1, 512, 2, 2]
    assert convs[0]["macs"] == 3 * 64 * 9 * 32 * 32 + 64 * 32 * 32  # torchinfo counts the bias add as well
    mlp_rows = layer_table(CifarMLP([64]), (1, 3, 32, 32))
    assert totals(mlp_rows)["params"] == 3072 * 64 + 2 * 64 + 64 * 10 + 10


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop"])
def test_build_optimizer_uses_the_fused_kernel_and_the_same_update(name):
    """Fused where PyTorch has a kernel (not RMSprop); one step moves the weights as the plain loop does."""
    import argparse

    from cs324.cifar import build_optimizer

    config = argparse.Namespace(
        optimizer=name, learning_rate=0.1, weight_decay=0.01, momentum=0.9, nesterov=name == "sgd"
    )
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    opt = build_optimizer(config, model)
    assert bool(opt.defaults.get("fused")) == (name != "rmsprop")
    reference = torch.nn.Linear(5, 3)
    reference.load_state_dict(model.state_dict())
    plain = cifar_build_optimizer_plain(name, reference)
    x = torch.randn(8, 5)
    for m, o in ((model, opt), (reference, plain)):
        m(x).square().sum().backward()
        o.step()
    assert torch.allclose(model.weight, reference.weight, atol=1e-6)


def cifar_build_optimizer_plain(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The same settings as the test above, with PyTorch's default (non-fused) implementation."""
    params = model.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=0.1, weight_decay=0.01)


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
    assert "| none |" in table and f"±{band:.4f} on validation (50 images)" in table
    assert (tmp_path / "abl" / "ablation.png").stat().st_size > 0
    assert (tmp_path / "abl" / "COMMAND.txt").read_text().count("cs324.cnn.ablation") == 1  # the rerun adds none


def test_ablation_noise_band_is_two_standard_errors_of_a_difference():
    from cs324.cnn.ablation import noise_band

    assert noise_band(0.9, 5000) == pytest.approx(2 * (2 * 0.9 * 0.1 / 5000) ** 0.5)
    assert noise_band(0.9, 1000) == pytest.approx(noise_band(0.9, 5000) * 5**0.5)  # 5x fewer images: sqrt(5) wider
    assert noise_band(1.0, 1000) == 0


@pytest.mark.slow
def test_ablation_of_the_cpu_recipe_takes_out_whitening_and_resizing(npz_dir, tmp_path, capsys):
    from cs324.cnn import ablation

    out = tmp_path / "abl"
    variants = ("no_whiten", "no_progressive", "none", "plus_ema", "short_budget_aug")
    argv = ["--recipe", "best_cpu", "--out", str(out), "--variants", *variants]
    argv += ["--max_steps", "2", "--device", "cpu", "--extra", "--data_dir", str(npz_dir), "--val_size", "50"]
    ablation.main(argv + ["--batch_size", "16"])
    config = {v: json.loads((out / v / "config.json").read_text()) for v in variants}
    assert config["no_whiten"]["whiten"] is False and config["no_whiten"]["progressive"] == [[16, 0.35], [24, 0.65]]
    assert config["no_progressive"]["whiten"] is True and config["no_progressive"]["progressive"] == []
    assert config["none"]["whiten"] is False and config["none"]["progressive"] == []
    assert config["plus_ema"]["ema"] == 0.998 and all(config[v]["ema"] == 0 for v in variants[:3])
    short = config["short_budget_aug"]
    assert (short["crop_pad"], short["alternate_flip"]) == (2, True)
    assert all((config[v]["crop_pad"], config[v]["alternate_flip"]) == (4, False) for v in variants[:4])
    with pytest.raises(SystemExit):  # no-ops for the GPU recipe: refused, not run
        ablation.main(["--out", str(tmp_path / "x"), "--variants", "no_whiten"])
    assert "apply only to --recipe best_cpu" in capsys.readouterr().err


def test_tta_score_also_reports_the_unflipped_accuracy(npz_dir):
    """One pass gives both: the un-flipped accuracy under --tta equals the accuracy without it."""
    from cs324.cifar import evaluate_split

    torch.manual_seed(0)
    loader = CifarLoader(load_cifar10(npz_dir), val_size=50, batch_size=16, augment="none")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10)).eval()
    with torch.inference_mode():
        plain, tta = evaluate_split(model, loader, "val", tta=False), evaluate_split(model, loader, "val", tta=True)
    assert plain.acc == plain.acc_plain and tta.acc_plain == plain.acc
    assert tta.loss != plain.loss and plain.confusion.sum() == tta.confusion.sum() == 50


def test_progressive_phases_parse_and_pick_the_size():
    import argparse

    from cs324.cifar import check_phases, parse_phase, resize_batch, train_size
    from cs324.runtime import UsageError

    phases = [parse_phase("16:0.3"), parse_phase("24:0.6")]
    assert phases == [(16, 0.3), (24, 0.6)]
    assert [train_size(s, 100, phases) for s in (0, 29, 30, 59, 60, 99)] == [16, 16, 24, 24, 32, 32]
    for bad in ("16", "x:0.3", "40:0.5", "16:0", "16:1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_phase(bad)
    with pytest.raises(UsageError, match="increasing"):
        check_phases([(24, 0.6), (16, 0.3)])
    x = torch.rand(2, 3, 32, 32)
    assert resize_batch(x, 32) is x
    small = resize_batch(x, 16)
    assert small.shape == (2, 3, 16, 16)
    assert torch.allclose(small.mean((2, 3)), x.mean((2, 3)), atol=0.02)  # a low-pass filter keeps the mean
    assert small.std() < 0.8 * x.std()  # and averages away pixel noise (antialiasing)
    assert torch.allclose(resize_batch(torch.full((1, 3, 32, 32), 0.7), 24), torch.full((1, 3, 24, 24), 0.7))
    assert CNN(3, 10)(resize_batch(x, 24)).shape == (2, 10)  # the 3x3/2 pools take any size down to 1x1


def test_whitening_filters_decorrelate_the_patches():
    from cs324.cifar import init_whitening

    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.8, 0.6], [0.0, 0.6, 0.5], [0.0, 0.0, 0.3]])  # correlated channels
    images = torch.einsum("ij,bjhw->bihw", mix, torch.randn(64, 3, 16, 16))
    conv = torch.nn.Conv2d(3, 64, 3, padding=0)
    untouched = conv.weight[54:].detach().clone()
    assert init_whitening(conv, images, eps=0.0) == 54  # 27 patch dimensions, +- each
    assert not conv.weight.requires_grad
    with torch.no_grad():
        out = (conv(images) - conv.bias.view(1, -1, 1, 1))[:, :27].permute(0, 2, 3, 1).reshape(-1, 27)
    cov = torch.cov(out.T)
    assert torch.allclose(cov, torch.eye(27), atol=0.02)  # unit variance, uncorrelated
    assert torch.equal(conv.weight[27:54], -conv.weight[:27]) and torch.equal(conv.weight[54:], untouched)


@pytest.mark.slow
def test_cnn_trains_with_whitening_and_progressive_resizing(npz_dir, tmp_path):
    """The frozen first layer stays as initialised; the low-resolution phases run; eval is at 32 px."""
    import json

    out = tmp_path / "run"
    cnn_train.main(
        ["--data_dir", str(npz_dir), "--max_steps", "6", "--eval_freq", "3", "--val_size", "50"]
        + ["--batch_size", "16", "--device", "cpu", "--quiet", "--recipe", "best", "--out", str(out)]
        + ["--whiten", "--progressive", "16:0.34", "24:0.67"]
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 3, 6] and all(0 <= r["val_acc"] <= 1 for r in records)
    from cs324.cifar import init_whitening

    loader = CifarLoader(load_cifar10(npz_dir), val_size=50, batch_size=16, augment="none")
    expected = torch.nn.Conv2d(3, 64, 3, padding=1)
    init_whitening(expected, loader.normalise(loader.x["train"][:2000]))
    trained = torch.load(out / "last.pt", weights_only=False)["model"]["features.0.0.weight"]
    assert torch.allclose(trained[:54], expected.weight[:54], atol=1e-6)  # whitened, and frozen in training
    config = json.loads((out / "config.json").read_text())
    assert config["whiten"] is True and config["progressive"] == [[16, 0.34], [24, 0.67]]


def test_tta_translate_moves_pixels_and_fills_with_zeros():
    from cs324.cnn.tta import SCHEMES, translate

    x = torch.arange(1, 17, dtype=torch.uint8).view(1, 1, 4, 4)
    down = translate(x, 1, 1)
    assert torch.equal(down[0, 0, 1:, 1:], x[0, 0, :3, :3]) and down[0, 0, 0].sum() == down[0, 0, :, 0].sum() == 0
    up = translate(x, -2, 0)
    assert torch.equal(up[0, 0, :2], x[0, 0, 2:]) and up[0, 0, 2:].sum() == 0
    assert translate(x, 0, 0) is x
    assert all(abs(sum(w.values()) - 1) < 1e-12 for w in SCHEMES.values())


def test_tta_schemes_are_scored_and_chosen_on_validation():
    from cs324.cnn.tta import score_schemes, select

    targets = torch.tensor([0, 1, 2, 3])
    right, wrong = torch.eye(4) * 4, torch.eye(4).roll(1, 1) * 4  # logits voting for the target / another class
    logits = {(0, 0, False): wrong, (0, 0, True): right * 1.5}  # the mirror outvotes the plain image
    for d in (1, -1, 2, -2):
        logits[(d, d, False)] = logits[(d, d, True)] = right
    scores = score_schemes(logits, targets)
    assert scores["none"]["acc"] == 0 and scores["flip"]["acc"] == 1 and scores["flip_shift2"]["acc"] == 1
    assert scores["flip_shift1"]["views"] == 6 and scores["none"]["views"] == 1
    assert select(scores) == "flip"  # ties go to the scheme with fewer views
    assert select({"flip": {"acc": 0.5, "views": 2}, "flip_shift1": {"acc": 0.6, "views": 6}}) == "flip_shift1"


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
    assert "5,000 validation images (carved from training), the first 1,000 official test images" in rows[-1]
    assert not list(results.glob("*/best.pt"))  # nothing was scored: no checkpoint needed
    for argv, message in (
        ([], "or --table FOLDER"),
        (["--table", str(tmp_path / "nowhere")], "no such folder"),
        (["--table", str(tmp_path)], "no */tta.json"),
    ):
        with pytest.raises(SystemExit) as e:
            tta.main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
