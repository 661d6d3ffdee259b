"""Part III: palindromes, the hand-written RNN and LSTM against torch.nn, and the trainer."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import run_module

from cs324.rnn import train as rnn_train
from cs324.rnn.dataset import PalindromeDataset, split_indices
from cs324.rnn.lstm import LSTM
from cs324.rnn.vanilla_rnn import VanillaRNN


@pytest.mark.parametrize("input_length", [1, 4, 9, 18, 37])
def test_items_are_palindromes_with_last_digit_as_target(input_length):
    data = PalindromeDataset(input_length, 300, seed=1)
    T = input_length + 1
    assert data.digits.shape == (min(300, 10 ** ((T + 1) // 2)), T)
    assert np.array_equal(data.digits, data.digits[:, ::-1])
    for i in (0, 7, len(data) - 1):
        x, y = data[i]
        assert x.shape == (T - 1, 1) and x.dtype == torch.float32
        assert y == data.digits[i, -1] and torch.equal(x[:, 0], torch.from_numpy(data.digits[i, :-1]).float())
    pal = data.generate_palindrome()
    assert len(pal) == T and np.array_equal(pal, pal[::-1])


def test_t5_yields_all_1000_distinct_palindromes():
    data = PalindromeDataset(4, 1_000_000)
    assert len(data) == 1000
    assert len({tuple(row) for row in data.digits}) == 1000


def test_long_palindromes_do_not_overflow():
    data = PalindromeDataset(199, 2000, seed=3)  # T = 200: 100 free digits
    assert data.digits.shape == (2000, 200)
    assert len(np.unique(data.digits, axis=0)) == 2000
    assert np.array_equal(data.digits, data.digits[:, ::-1])


def test_same_seed_same_data_and_one_hot_shape():
    a, b = PalindromeDataset(9, 500, seed=5), PalindromeDataset(9, 500, seed=5)
    assert np.array_equal(a.digits, b.digits)
    assert not np.array_equal(a.digits, PalindromeDataset(9, 500, seed=6).digits)
    oh = PalindromeDataset(9, 500, one_hot=True, seed=5)
    x, y = oh.batch(np.arange(4))
    assert x.shape == (4, 9, 10) and torch.equal(x.argmax(-1), torch.from_numpy(a.digits[:4, :-1]).long())
    assert oh.input_dim == 10 and a.input_dim == 1


@pytest.mark.parametrize("kwargs", [dict(input_length=0, total_len=5), dict(input_length=3, total_len=0)])
def test_bad_dataset_arguments(kwargs):
    with pytest.raises(ValueError):
        PalindromeDataset(**kwargs)


@pytest.mark.parametrize("portion", [0.0, 1.0, 1.5, -0.2])
def test_bad_portion(portion):
    with pytest.raises(ValueError, match="portion_train"):
        split_indices(100, portion)


def test_split_is_disjoint_and_complete():
    tr, va = split_indices(1000, 0.8, seed=2)
    assert len(tr) == 800 and len(va) == 200 and len(np.union1d(tr, va)) == 1000


def test_vanilla_rnn_matches_torch_rnn():
    torch.manual_seed(0)
    model = VanillaRNN(12, 3, 16, 10).double()
    ref = nn.RNN(3, 16, nonlinearity="tanh", batch_first=True).double()
    head = nn.Linear(16, 10).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(model.W_hx.T)
        ref.weight_hh_l0.copy_(model.W_hh.T)
        ref.bias_ih_l0.copy_(model.b_h)
        ref.bias_hh_l0.zero_()
        head.weight.copy_(model.W_ph.T)
        head.bias.copy_(model.b_o)
    x = torch.randn(5, 12, 3, dtype=torch.float64)
    out, _ = ref(x)
    torch.testing.assert_close(model(x), head(out[:, -1]), atol=1e-10, rtol=0)
    # float32, as trained
    torch.testing.assert_close(
        model.float()(x.float()), head.float()(ref.float()(x.float())[0][:, -1]), atol=1e-6, rtol=0
    )


def torch_lstm_like(model: LSTM) -> tuple[nn.LSTM, nn.Linear]:
    """nn.LSTM + a linear head (float64) holding the hand-written LSTM's weights."""
    input_dim, hidden = model.W_x.shape[0], model.hidden_dim
    ref = nn.LSTM(input_dim, hidden, batch_first=True).double()
    head = nn.Linear(hidden, model.W_ph.shape[1]).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(model.W_x.T)
        ref.weight_hh_l0.copy_(model.W_h.T)
        ref.bias_ih_l0.copy_(model.b)
        ref.bias_hh_l0.zero_()
        head.weight.copy_(model.W_ph.T)
        head.bias.copy_(model.b_p)
    return ref, head


def test_lstm_matches_torch_lstm():
    torch.manual_seed(0)
    model = LSTM(9, 4, 8, 10).double()
    ref, head = torch_lstm_like(model)
    x = torch.randn(6, 9, 4, dtype=torch.float64)
    out, _ = ref(x)
    torch.testing.assert_close(model(x), head(out[:, -1]), atol=1e-10, rtol=0)


def test_lstm_gradients_match_torch_lstm():
    """Every parameter gradient of the hand-written LSTM equals nn.LSTM's (backward through the loop)."""
    torch.manual_seed(1)
    model = LSTM(7, 3, 5, 10).double()
    ref, head = torch_lstm_like(model)
    x, y = torch.randn(4, 7, 3, dtype=torch.float64), torch.tensor([1, 2, 3, 4])
    nn.functional.cross_entropy(model(x), y).backward()
    nn.functional.cross_entropy(head(ref(x)[0][:, -1]), y).backward()
    torch.testing.assert_close(model.W_x.grad, ref.weight_ih_l0.grad.T, atol=1e-10, rtol=0)
    torch.testing.assert_close(model.W_h.grad, ref.weight_hh_l0.grad.T, atol=1e-10, rtol=0)
    torch.testing.assert_close(model.b.grad, ref.bias_ih_l0.grad, atol=1e-10, rtol=0)
    torch.testing.assert_close(model.W_ph.grad, head.weight.grad.T, atol=1e-10, rtol=0)


def test_lstm_float32_training_path_matches_the_float64_one():
    """Training in float32 on the CPU runs the per-step products through oneDNN (StepProducts), float64 through
    addmm: the same logits and parameter gradients within float32 rounding, at the benchmark's sizes."""
    from cs324.rnn import lstm

    torch.manual_seed(2)
    model = LSTM(20, 1, 128, 10).double()
    x, y = torch.randn(64, 19, 1, dtype=torch.float64), torch.randint(0, 10, (64,))
    assert not lstm.StepProducts(model.W_h, 128, 64).onednn  # float64: the reference path
    nn.functional.cross_entropy(model(x), y).backward()
    single = LSTM(20, 1, 128, 10)
    single.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    if lstm.ONEDNN:
        assert lstm.StepProducts(single.W_h, 128, 64).onednn
    logits = single(x.float())
    nn.functional.cross_entropy(logits, y).backward()
    torch.testing.assert_close(logits.double(), model(x).detach(), atol=1e-5, rtol=0)
    for name, p in single.named_parameters():
        reference = dict(model.named_parameters())[name].grad
        torch.testing.assert_close(p.grad.double(), reference, atol=1e-5, rtol=1e-4, msg=name)


def test_lstm_trains_under_bf16_autocast():
    """--amp: the recurrence runs in float32 (its backward is written for one dtype), the output layer in bf16;
    the gradients are float32's within bf16 rounding."""
    torch.manual_seed(3)
    model = LSTM(10, 1, 16, 10)
    x, y = torch.randn(8, 9, 1), torch.randint(0, 10, (8,))
    nn.functional.cross_entropy(model(x), y).backward()
    reference = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad.dtype == torch.float32
        assert (p.grad - reference[name]).norm() <= 0.05 * reference[name].norm() + 1e-6, name


def test_lstm_cell_backward_is_the_derivative_of_its_forward():
    """The hand-written backward of one LSTM step against finite differences (float64), with and without a
    gradient arriving through c(t) (at the last step none does)."""
    from cs324.rnn.lstm import LSTMCell

    torch.manual_seed(2)
    gates = torch.randn(3, 4 * 5, dtype=torch.float64, requires_grad=True)
    c_prev = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(LSTMCell.apply, (gates, c_prev))
    assert torch.autograd.gradcheck(lambda g, c: LSTMCell.apply(g, c)[0], (gates, c_prev))
    assert torch.autograd.gradcheck(lambda g, c: LSTMCell.apply(g, c)[1], (gates, c_prev))  # no dL/dh(t)


def test_lstm_loop_reuses_its_buffers_only_when_no_graph_still_needs_them():
    """Training steps share one workspace; two graphs alive at once each get their own; a graph whose buffers a
    later call overwrote (a second backward under retain_graph) recomputes them: every gradient stays exact."""
    from cs324.rnn.lstm import LSTMLoop, Workspace

    torch.manual_seed(4)
    x_proj = [torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True) for _ in range(2)]  # (L, B, D)
    W_h = torch.randn(4 + 2 + 1, 4 * 4, dtype=torch.float64, requires_grad=True)  # [W_h; W_x; b], H = 4

    def grads(x, out=None):
        out = LSTMLoop.apply(x, W_h) if out is None else out
        return torch.autograd.grad(out.square().sum(), (x, W_h), retain_graph=True)

    expected = [grads(x) for x in x_proj]
    kept = Workspace._last
    for x, want in zip(x_proj, expected):  # one training step after another: the same buffers
        torch.testing.assert_close(grads(x), want, atol=0, rtol=0)
        assert Workspace._last is kept and not kept.busy
    first = LSTMLoop.apply(x_proj[0], W_h)
    torch.testing.assert_close(grads(x_proj[0], first), expected[0], atol=0, rtol=0)  # its graph is retained
    grads(x_proj[1])  # overwrites first's buffers
    torch.testing.assert_close(grads(x_proj[0], first), expected[0], atol=0, rtol=0)  # recomputed
    a, b = LSTMLoop.apply(x_proj[0], W_h), LSTMLoop.apply(x_proj[1], W_h)  # two graphs waiting at once
    assert a.grad_fn.lease.ws is not b.grad_fn.lease.ws and a.grad_fn.lease.valid()  # b did not take a's
    torch.testing.assert_close(grads(x_proj[1], b), expected[1], atol=0, rtol=0)
    torch.testing.assert_close(grads(x_proj[0], a), expected[0], atol=0, rtol=0)


def test_lstm_loop_backward_and_the_stepwise_path_agree():
    """Training runs the recurrence as one node (LSTMLoop); ``return_hidden`` runs it step by step so that
    dL/dh(t) can be read: same logits, same gradients, and LSTMLoop's backward passes finite differences."""
    from cs324.rnn.lstm import LSTMLoop

    torch.manual_seed(3)
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)  # (L, B, D)
    W = torch.randn(5 + 2 + 1, 4 * 5, dtype=torch.float64, requires_grad=True)  # [W_h; W_x; b], H = 5
    assert torch.autograd.gradcheck(LSTMLoop.apply, (x, W))
    model = LSTM(6, 3, 5, 10).double()
    x, y = torch.randn(4, 6, 3, dtype=torch.float64), torch.tensor([1, 2, 3, 4])
    grads = []
    for stepwise in (False, True):
        model.zero_grad()
        logits = model(x, return_hidden=True)[0] if stepwise else model(x)
        nn.functional.cross_entropy(logits, y).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
def test_recurrent_inits(init):
    model = VanillaRNN(5, 1, 8, 10, recurrent_init=init)
    w = model.W_hh.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(8), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="recurrent_init"):
        VanillaRNN(5, 1, 8, 10, recurrent_init="zeros")


def test_models_reject_wrong_input_shape():
    with pytest.raises(ValueError, match="expected input"):
        VanillaRNN(5, 1, 8, 10)(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="expected input"):
        LSTM(5, 1, 8, 10)(torch.zeros(2, 5))


def test_gradient_clipping_takes_effect():
    """With plain SGD at lr 1 the update *is* the gradient: its norm must be max_norm."""
    torch.manual_seed(0)
    data = PalindromeDataset(9, 256, seed=0)
    model = VanillaRNN(9, 1, 32, 10)
    config = rnn_train.build_parser().parse_args(["--max_norm", "0.01"])
    x, y = data.batch(np.arange(256))
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    raw_norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert raw_norm > 0.1  # so that clipping has something to do
    model.zero_grad()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    rnn_train.train(model, [(x, y)], optimizer, nn.CrossEntropyLoss(), "cpu", config)
    step = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step.item() == pytest.approx(0.01, rel=1e-3)


def test_skeleton_train_and_evaluate_return_loss_and_accuracy():
    data = PalindromeDataset(4, 1000)
    model = VanillaRNN(4, 1, 16, 10)
    config = rnn_train.build_parser().parse_args([])
    loader = [data.batch(np.arange(i, i + 100)) for i in range(0, 1000, 100)]
    loss, acc = rnn_train.evaluate(model, loader, nn.CrossEntropyLoss(), "cpu", config)
    assert 1.5 < loss < 3.5 and 0 <= acc <= 0.3  # untrained: near chance (ln 10 = 2.30)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-2)
    for _ in range(30):
        loss_tr, acc_tr = rnn_train.train(model, loader, opt, nn.CrossEntropyLoss(), "cpu", config)
    assert acc_tr > 0.5 and loss_tr < loss


@pytest.mark.slow
def test_course_defaults_reach_99_percent_at_t5(tmp_path):
    r = run_module("cs324.rnn.train", "--input_length", "4", "--out", str(tmp_path), "--quiet")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert max(rec["val_acc"] for rec in recs) >= 0.99
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["num_hidden"], config["batch_size"], config["learning_rate"], config["max_norm"]) == (
        128,
        128,
        0.001,
        10.0,
    )


def test_lstm_one_hot_trains_end_to_end():
    config = rnn_train.build_parser().parse_args(
        ["--model", "lstm", "--one_hot", "--input_length", "4", "--max_steps", "300", "--device", "cpu", "--quiet"]
    )
    config.out = None
    _, result = rnn_train.main(config)
    assert max(r["val_acc"] for r in result.records) >= 0.9


@pytest.mark.parametrize(
    "args", [["--portion_train", "1.5"], ["--input_length", "0"], ["--num_classes", "7"], ["--input_dim", "3"]]
)
def test_bad_flags(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        rnn_train.run([*args, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_curriculum_schedule_is_a_pure_function_of_the_step():
    from cs324.rnn.curriculum import curriculum_lengths, stage_at

    assert curriculum_lengths(30, 10) == [10, 15, 20, 25, 30]
    assert curriculum_lengths(30, 0) == [30] and curriculum_lengths(12, 10) == [10, 12]
    stages = [stage_at(step, 1000, 5) for step in range(0, 1001, 125)]
    assert stages == [0, 1, 2, 3, 4, 4, 4, 4, 4]  # 4 short stages in the first half, the target after
    assert all(stage_at(s, 1000, 1) == 0 for s in (0, 999))


def test_mixed_curriculum_sampling_revisits_earlier_stages_half_the_time():
    from cs324.rnn.curriculum import batch_stage, stage_at

    max_steps, n = 2000, 5
    plain = [batch_stage(s, max_steps, n, False, 0) for s in range(max_steps)]
    assert plain == [stage_at(s, max_steps, n) for s in range(max_steps)]
    mixed = [batch_stage(s, max_steps, n, True, 0) for s in range(max_steps)]
    assert mixed == [batch_stage(s, max_steps, n, True, 0) for s in range(max_steps)]  # a pure function of the step
    current = [stage_at(s, max_steps, n) for s in range(max_steps)]
    assert all(m <= c for m, c in zip(mixed, current))
    later = [(m, c) for m, c in zip(mixed, current) if c > 0]
    share = sum(m == c for m, c in later) / len(later)
    assert 0.45 < share < 0.55  # half at the current stage, the rest earlier
    assert {m for m, c in later if c == n - 1} == set(range(n))  # the target stage revisits every earlier one


def test_curriculum_trains_and_rejects_bad_lengths(capsys, tmp_path):
    rnn_train.run(
        ["--input_length", "7", "--curriculum", "4", "--one_hot", "--max_steps", "60", "--eval_freq", "30"]
        + ["--data_size", "2000", "--device", "cpu", "--quiet", "--out", str(tmp_path / "run")]
    )
    assert "T=8 rnn: best val_acc" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        rnn_train.run(["--input_length", "7", "--curriculum", "9", "--quiet"])
    assert e.value.code == 2


def test_sweep_starts_a_curriculum_no_later_than_the_target_length():
    from cs324.rnn.sweep import VARIANTS, variant_args

    def start(T):
        args = variant_args("rnn_curriculum", T)
        return int(args[args.index("--curriculum") + 1])

    assert start(5) == 5 and start(10) == 10 and start(40) == 10
    assert variant_args("lstm", 5) == VARIANTS["lstm"] and VARIANTS["rnn_curriculum"][-1] == "10"  # not mutated


def test_zero_lengths_is_the_shortest_length_at_which_every_seed_failed():
    from cs324.rnn.sweep import zero_lengths

    row = lambda v, T, s, acc: {"variant": v, "T": str(T), "seed": str(s), "best_val_acc": str(acc)}  # noqa: E731
    rows = [row("a", 10, 0, 0.5), row("a", 10, 1, 0.995), row("a", 15, 0, 0.2), row("a", 15, 1, 0.3)]
    rows += [row("a", 20, 0, 0.1), row("a", 20, 1, 0.1), row("b", 10, 0, 0.1)]  # b: seed 1 not run yet
    assert zero_lengths(rows, [0, 1]) == {"a": 15}
    assert zero_lengths(rows, [0]) == {"a": 10, "b": 10}  # seed 1 is not asked for


def test_sweep_until_zero_runs_no_longer_length_of_a_variant_whose_every_seed_failed(tmp_path):
    from cs324.rnn import sweep

    out = tmp_path / "sweep"
    out.mkdir()
    fake = [("rnn_default", 0.30), ("rnn_best", 1.0)]  # T=5 done: rnn_default failed both seeds, rnn_best learned
    sweep.write_rows(
        out / "sweep.csv",
        [
            dict(
                variant=v,
                T=5,
                seed=s,
                best_val_acc=a,
                final_val_acc=a,
                best_step=4,
                steps_run=4,
                seconds=1,
                device="cpu",
            )
            for v, a in fake
            for s in (0, 1)
        ],
    )
    argv = "--variants rnn_default rnn_best --lengths 5 8 --seeds 0 1 --max_steps 4 --eval_freq 2 --data_size 200"
    sweep.main([*argv.split(), "--workers", "1", "--device", "cpu", "--until_zero", "--out", str(out)])
    ran = sorted((r["variant"], r["T"]) for r in sweep.read_rows(out / "sweep.csv") if r["T"] == "8")
    assert ran == [("rnn_best", "8"), ("rnn_best", "8")]


def test_early_stop_holds_at_100_percent_and_counts_patience_on_the_target_length_only():
    from cs324.rnn.train import EarlyStop

    stop = EarlyStop(hold=3, patience=0)
    assert [stop({"step": s, "val_acc": a}) for s, a in enumerate([1.0, 0.9, 1.0, 1.0, 1.0])] == [0, 0, 0, 0, 1]
    stop = EarlyStop(hold=3, patience=2, patience_from=100)  # a curriculum reaches the target length at step 100
    flat = [stop({"step": s, "val_acc": 0.0}) for s in range(0, 100, 10)]
    assert not any(flat)  # no improvement during the curriculum: not a reason to stop
    assert [stop({"step": s, "val_acc": 0.0}) for s in (100, 110)] == [False, True]


def test_longest_solved_needs_every_seed_of_at_least_three():
    from cs324.rnn.analysis import longest_solved, summarise

    rows = [
        {"variant": "v", "T": T, "seed": s, "best_val_acc": acc}
        for T, s, acc in [
            (10, 0, 1.0),
            (10, 1, 1.0),
            (10, 2, 0.995),  # solved by all three seeds
            (20, 0, 1.0),
            (20, 1, 0.5),
            (20, 2, 1.0),  # one seed fails
            (30, 0, 1.0),  # one seed only: not "every seed"
        ]
    ]
    summary = summarise(rows)
    assert summary["v"][20][3] == 3 and abs(summary["v"][20][0] - 2.5 / 3) < 1e-12
    assert longest_solved(summary, "v") == 10
    assert longest_solved(summary, "v", every_seed=False) == 30
    assert longest_solved(summary, "v", min_seeds=1) == 30 and longest_solved(summary, "missing") is None
