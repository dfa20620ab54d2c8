"""The SDGD trainer: the shared loop with stochastic engines, the unbiased loss and streamed evaluation."""

import functools

import pytest
import torch

from pdes.ball import AllenCahn
from pdes.schrodinger_oscillator import HarmonicOscillator
from sciml.balancing.fixed import FixedWeights
from sciml.engines import SDGDEngine, TaylorEngine
from sciml.models import MLP
from sciml.models.separable import SeparableNet
from sciml.optim import adam
from sciml.train import relative_l2
from sciml.train.sdgd import SDGDTrainer, tune_allocator

pytestmark = pytest.mark.usefixtures("one_thread")


def trainer(engine, dim=20, steps=60, **kwargs):
    torch.manual_seed(0)
    problem = AllenCahn(dim=dim, batch_size=32)
    return SDGDTrainer(problem=problem, model=MLP(dim, 1, width=32, depth=2), engine=engine,
                       balancer=FixedWeights(), optimizer=functools.partial(adam, lr=3e-3), steps=steps,
                       progress=False, eval_every=0, log_every=0, eval_points=300, **kwargs)


@pytest.mark.parametrize("engine", [TaylorEngine(num_dims=4), TaylorEngine(num_dims=4, unbiased=True),
                                    SDGDEngine(num_dims=4, chunk_dims=2)], ids=["stde", "unbiased", "chunked"])
def test_training_reduces_the_error(engine):
    tr = trainer(engine)
    before = tr.evaluate()["rel_l2"]
    summary = tr.fit()
    assert summary["best_rel_l2"] < 0.5 * before
    assert summary["steps_per_s"] > 0 and summary["peak_memory_mb"] > 0


def test_same_seed_same_run():
    a = trainer(TaylorEngine(num_dims=4), steps=5).fit()
    b = trainer(TaylorEngine(num_dims=4), steps=5).fit()
    assert a["rel_l2"] == b["rel_l2"]


def test_streamed_evaluation_accumulates_over_chunks():
    tr = trainer(TaylorEngine(num_dims=4), eval_chunk_mb=0)  # one row per chunk
    tr.eval_chunk_bytes = 20 * 4 * 7  # 7 rows of 20 float32 per chunk: 300 = 42·7 + 6
    chunks = list(tr.test_chunks())
    assert sum(x.shape[0] for x, _ in chunks) == 300 and {x.shape[0] for x, _ in chunks} == {7, 6}
    x = torch.cat([c[0] for c in chunks])
    exact = torch.cat([c[1] for c in chunks])
    expected = relative_l2(tr.predict(x), exact)
    metrics = tr.evaluate()
    assert metrics["rel_l2"] == pytest.approx(expected, rel=1e-5)
    assert metrics["max_abs"] == pytest.approx(float((tr.predict(x) - exact).abs().max()), rel=1e-6)
    assert tr.evaluate()["rel_l2"] == metrics["rel_l2"]  # the same fixed test set every time


def test_problem_score_is_tracked():
    torch.manual_seed(0)
    problem = HarmonicOscillator(dim=4)
    tr = SDGDTrainer(problem=problem, model=SeparableNet(4, rank=1, width=8), engine=SDGDEngine(),
                     balancer=FixedWeights(), optimizer=functools.partial(adam, lr=1e-2), steps=40,
                     progress=False, eval_every=20, log_every=0, dtype=torch.float64)
    first = tr.evaluate()["eigenvalue_rel_err"]
    summary = tr.fit()
    assert summary["best_eigenvalue_rel_err"] < first
    assert summary["eigenvalue"] >= 4 - 1e-9  # variational upper bound on λ₀ = d


def test_allocator_tuning_on_glibc():
    assert tune_allocator()  # glibc: mallopt accepts both settings
