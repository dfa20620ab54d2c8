"""The measured oneDNN / BLAS choice for the d-wide first layer (sciml/models/wide.py)."""

import json

import pytest
import torch

from sciml.errors import ConfigError
from sciml.models import wide
from sciml.models.wide import fastest, input_layer_jet, linear, routed, shape_class

D, WIDTH, BATCH = 5000, 32, 12


@pytest.fixture
def fresh(monkeypatch):
    """No decisions from earlier tests, no disk cache unless a test sets one."""
    monkeypatch.setattr(wide, "_decisions", {})
    monkeypatch.setattr(wide, "_disk", None)
    monkeypatch.setenv("SCIML_KERNEL_CACHE", "0")
    monkeypatch.delenv("SCIML_WIDE_KERNEL", raising=False)


def first_layer(route: str, monkeypatch) -> list[torch.Tensor]:
    monkeypatch.setenv("SCIML_WIDE_KERNEL", route)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, D, generator=gen) / D**0.5
    weight = torch.randn(WIDTH, D, generator=gen).requires_grad_(True)
    bias = torch.randn(WIDTH, generator=gen).requires_grad_(True)
    z, tangent = input_layer_jet(x, weight, bias, None, torch.tensor([4999, 3, 2500]))
    grads = torch.autograd.grad((z.tanh().sum() + tangent.square().sum()), [weight, bias])
    with torch.no_grad():
        plain = linear(x, weight, bias)
    return [z, tangent, plain, *grads]


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this torch build")
def test_both_routes_give_the_same_numbers(fresh, monkeypatch):
    for a, b in zip(first_layer("onednn", monkeypatch), first_layer("blas", monkeypatch)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * float(b.abs().max()))


def test_fastest_picks_the_faster_of_two_fake_timings():
    now = [0.0]
    cost = {"onednn": 3.0, "blas": 1.0}

    def clock() -> float:
        return now[0]

    def route(name: str):
        def run() -> torch.Tensor:
            now[0] += cost[name]
            return torch.tensor(cost[name])
        return run

    name, out = fastest({k: route(k) for k in cost}, clock=clock)
    assert name == "blas" and float(out) == 1.0
    cost.update(onednn=0.5)
    assert fastest({k: route(k) for k in cost}, clock=clock)[0] == "onednn"


def test_decision_is_measured_once_then_cached_in_process_and_on_disk(fresh, monkeypatch, tmp_path):
    calls = []

    def fake_fastest(routes, **_):
        calls.append(sorted(routes))
        return "blas", routes["blas"]()

    monkeypatch.setattr(wide, "fastest", fake_fastest)
    cache = tmp_path / "kernels.json"
    monkeypatch.setenv("SCIML_KERNEL_CACHE", str(cache))
    a, b = torch.randn(BATCH, D), torch.randn(WIDTH, D)
    for _ in range(3):
        torch.testing.assert_close(routed("forward", a, b, None, lambda: a @ b.T), a @ b.T)
    assert calls == [["blas", "onednn"]]
    stored = json.loads(cache.read_text())
    key = f"{shape_class('forward', BATCH, D, WIDTH)} | {torch.get_num_threads()} threads"
    assert stored == {f"{wide.cpu_model()} | torch {torch.__version__} | {key}": "blas"}
    # a new process (no in-process decisions) reads the disk and does not measure
    monkeypatch.setattr(wide, "_decisions", {})
    monkeypatch.setattr(wide, "_disk", None)
    routed("forward", a, b, None, lambda: a @ b.T)
    assert len(calls) == 1 and wide._decisions[key] == "blas"


def test_narrow_products_and_bad_override(fresh, monkeypatch):
    monkeypatch.setattr(wide, "fastest", lambda *_, **__: pytest.fail("narrow products are not measured"))
    a, b = torch.randn(8, 50), torch.randn(20, 50)
    torch.testing.assert_close(routed("forward", a, b, None, lambda: a @ b.T), a @ b.T)
    assert shape_class("forward", 100, 1_000_000, 128) == "forward 7x20x7"
    monkeypatch.setenv("SCIML_WIDE_KERNEL", "mkl")
    with pytest.raises(ConfigError, match="SCIML_WIDE_KERNEL"):
        routed("forward", a, b, None, lambda: a @ b.T)
