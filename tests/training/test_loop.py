import math

import numpy as np
import pytest
import torch
from torch import nn

from training.loop import (
    INITS,
    OPTIMIZERS,
    SCHEDULES,
    EarlyStopping,
    apply_max_norm,
    classification_report,
    format_report,
    init_weights,
    make_optimizer,
    make_scheduler,
    progress,
    set_seed,
)


def test_set_seed_makes_python_numpy_and_torch_repeat():
    import random

    set_seed(7)
    a = (random.random(), float(np.random.rand()), torch.rand(3).tolist())
    set_seed(7)
    b = (random.random(), float(np.random.rand()), torch.rand(3).tolist())
    set_seed(8)
    c = (random.random(), float(np.random.rand()), torch.rand(3).tolist())
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_reduces_a_quadratic(name):
    torch.manual_seed(0)
    w = nn.Parameter(torch.tensor([3.0, -2.0]))
    frozen = nn.Parameter(torch.tensor([1.0]), requires_grad=False)
    lr = {"adadelta": 1.0, "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5}.get(name, 0.05)
    opt = make_optimizer(name, [w, frozen], lr=lr)
    assert all(p.requires_grad for g in opt.param_groups for p in g["params"])
    start = float((w.detach() ** 2).sum())
    for _ in range(60):
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        opt.step()
    end = float((w.detach() ** 2).sum())
    # Adadelta's first steps are tiny by design (its step size is learned from scratch)
    assert end < (0.99 if name == "adadelta" else 0.5) * start


def test_optimizer_options_are_passed_through():
    p = [nn.Parameter(torch.zeros(2))]
    assert make_optimizer("sgd", p, lr=0.1).param_groups[0]["momentum"] == 0
    g = make_optimizer("nesterov", p, lr=0.1, momentum=0.8, weight_decay=0.01).param_groups[0]
    assert (g["momentum"], g["nesterov"], g["weight_decay"]) == (0.8, True, 0.01)
    assert make_optimizer("adadelta", p, lr=1.0).param_groups[0]["rho"] == 0.95
    assert isinstance(make_optimizer("adamw", p, lr=1e-3), torch.optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("lion", p, lr=0.1)


def _lrs(name, steps=10, **kw):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make_scheduler(name, opt, total_steps=steps, **kw)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_have_the_documented_shapes():
    assert set(SCHEDULES) == {"constant", "step", "cosine", "linear-warmup"}
    assert _lrs("constant") == [1.0] * 10
    assert _lrs("step", step_size=3, gamma=0.5)[:7] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    cos = _lrs("cosine", steps=10)
    assert cos[0] == 1.0 and all(a >= b for a, b in zip(cos, cos[1:])) and cos[-1] < 0.05
    assert math.isclose(cos[5], 0.5, abs_tol=1e-9)
    warm = _lrs("linear-warmup", steps=10, warmup_steps=4)
    assert warm[:4] == [0.25, 0.5, 0.75, 1.0]
    assert warm[4] > warm[5] > warm[9] >= 0
    with pytest.raises(ValueError):
        _lrs("exponential")


def test_init_weights_touches_linear_and_conv_but_never_embeddings():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Embedding(10, 4), nn.Conv1d(4, 3, 2), nn.Linear(3, 2))
    emb = m[0].weight.detach().clone()
    assert INITS == ("default", "xavier", "he")
    before = m[2].weight.detach().clone()
    init_weights(m, "default")
    assert torch.equal(m[2].weight, before)
    for scheme in ("xavier", "he"):
        init_weights(m, scheme)
        assert torch.equal(m[0].weight, emb)
        assert not torch.equal(m[2].weight, before)
        assert torch.count_nonzero(m[1].bias) == 0 and torch.count_nonzero(m[2].bias) == 0
    with pytest.raises(ValueError):
        init_weights(m, "orthogonal")


def test_xavier_bound_is_respected():
    lin = nn.Linear(200, 300)
    init_weights(lin, "xavier")
    bound = math.sqrt(6 / (200 + 300))
    top = float(lin.weight.detach().abs().max())
    assert 0.9 * bound < top <= bound


def test_early_stopping_max_and_min():
    es = EarlyStopping(patience=2, mode="max")
    assert es.step(0.5) is True
    assert es.step(0.6) is True
    assert es.step(0.6) is False and not es.should_stop
    assert es.step(0.55) is False and es.should_stop
    assert es.best == 0.6 and es.best_step == 1
    es = EarlyStopping(patience=1, mode="min")
    assert es.step(2.0) and es.step(1.0)
    assert not es.step(float("nan"))
    assert es.should_stop
    with pytest.raises(ValueError):
        EarlyStopping(patience=1, mode="best")


def test_apply_max_norm_rescales_only_rows_over_the_cap():
    lin = nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 10.0]]))
    apply_max_norm(lin, 1.0)
    norms = lin.weight.norm(dim=1)
    assert torch.allclose(norms, torch.tensor([1.0, 0.5, 1.0]), atol=1e-6)
    assert torch.allclose(lin.weight[0], torch.tensor([0.6, 0.8]), atol=1e-6)


def test_progress_is_silent_off_a_terminal_and_iterates_everything(capsys):
    bar = progress(range(5), desc="x", total=5)
    assert list(bar) == [0, 1, 2, 3, 4]
    bar.set_postfix(loss="1.0")
    assert capsys.readouterr().err == ""
    assert list(progress(range(3), desc="forced", force=True)) == [0, 1, 2]
    assert "forced" in capsys.readouterr().err


def test_classification_report_numbers():
    labels = ["a", "b", "c"]
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    r = classification_report(y_true, y_pred, labels)
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert r["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8),
                                   "support": 3}
    assert r["per_class"]["b"]["precision"] == 0.5 and r["per_class"]["b"]["recall"] == 0.5
    assert r["per_class"]["c"]["precision"] == 0.5 and r["per_class"]["c"]["recall"] == 1.0
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    text = format_report(r)
    assert "accuracy 0.6667" in text and "rows = true" in text
    with pytest.raises(ValueError):
        classification_report([0], [3], labels)
