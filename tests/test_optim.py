"""The optimizer factory and the one learning-rate schedule."""

import pytest
import torch

from cs324.optim import OPTIMIZERS, build_optimizer, build_scheduler, lr_factor


def test_lr_schedules():
    assert lr_factor(0, 100, "constant") == 1.0
    assert lr_factor(0, 100, "onecycle", 0.2) == 0.0 and lr_factor(20, 100, "onecycle", 0.2) == 1.0
    assert lr_factor(100, 100, "onecycle", 0.2) == 0.0 and lr_factor(60, 100, "onecycle", 0.2) == pytest.approx(0.5)
    assert lr_factor(50, 100, "cosine") == pytest.approx(0.5) and lr_factor(100, 100, "cosine") == pytest.approx(0)
    assert lr_factor(150, 100, "cosine") == pytest.approx(0)  # past the budget: stays at the end
    with pytest.raises(ValueError, match="schedule"):
        lr_factor(0, 100, "linear")


def test_scheduler_applies_the_factor_each_step():
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer("sgd", model.parameters(), lr=0.5)
    assert build_scheduler(optimizer, "constant", max_steps=10) is None
    scheduler = build_scheduler(optimizer, "cosine", max_steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.5 * lr_factor(s, 10, "cosine") for s in range(10)])


def plain_optimizer(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The settings of the test below, with PyTorch's default (non-fused) implementation."""
    params = model.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=0.1, weight_decay=0.01)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_build_optimizer_uses_the_fused_kernel_and_the_same_update(name):
    """Fused where PyTorch has a kernel (not RMSprop); one step moves the weights as the plain loop does."""
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    opt = build_optimizer(name, model.parameters(), lr=0.1, momentum=0.9, nesterov=name == "sgd", weight_decay=0.01)
    assert bool(opt.defaults.get("fused")) == (name != "rmsprop")
    reference = torch.nn.Linear(5, 3)
    reference.load_state_dict(model.state_dict())
    plain = plain_optimizer(name, reference)
    x = torch.randn(8, 5)
    for m, o in ((model, opt), (reference, plain)):
        m(x).square().sum().backward()
        o.step()
    assert torch.allclose(model.weight, reference.weight, atol=1e-6)
    with pytest.raises(ValueError, match="optimizer"):
        build_optimizer("lbfgs", model.parameters(), lr=0.1)
