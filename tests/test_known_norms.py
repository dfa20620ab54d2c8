"""Squared norms recorded by the ball's sampler (sciml/geometry/known_norms.py): equal to the computed ones, used
only for the unchanged points, and reaching the hard constraint through a training step."""

import functools

import pytest
import torch

from pdes.ball import AllenCahn, RadialBallSampler
from sciml.balancing.fixed import FixedWeights
from sciml.engines import TaylorEngine
from sciml.geometry.known_norms import remember_squared_norms, squared_norms
from sciml.models import MLP
from sciml.models.constrained import BallFactor
from sciml.optim import adam
from sciml.train.sdgd import SDGDTrainer


def computed(x):
    return torch.linalg.vector_norm(x, dim=1).square()


def test_a_record_serves_only_its_own_unchanged_points():
    x = torch.randn(5, 7)
    marked = computed(x) + 1.0                      # a record told apart from the computed value
    assert remember_squared_norms(x, marked) is x
    assert squared_norms(x) is marked
    same_values = x.clone()
    torch.testing.assert_close(squared_norms(same_values), computed(x), rtol=0, atol=0)
    x.mul_(2.0)                                     # an in-place change voids the record
    torch.testing.assert_close(squared_norms(x), computed(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="squared norms of shape"):
        remember_squared_norms(x, marked[:3])


@pytest.mark.parametrize("dim, n, normal", [(300, 40, "counter"), (4096, 300, "counter"), (4096, 300, "torch"),
                                            (301, 40, "counter")])
def test_the_ball_sampler_records_the_squared_radii(dim, n, normal):
    # (4096, 300) draws 1.2·10⁶ numbers: the fused compiled loop (counter) or threaded torch draws
    sampler = RadialBallSampler(dim, normal=normal, threads=2)
    x = sampler.sample(n, torch.Generator().manual_seed(0), torch.float64)
    recorded = squared_norms(x)
    assert recorded.shape == (n,) and bool((recorded <= 1).all())
    torch.testing.assert_close(recorded, computed(x), rtol=1e-12, atol=1e-14)


def test_the_hard_constraint_reads_the_record_in_a_training_step(monkeypatch):
    seen = []
    jet = BallFactor.jet

    def spy(self, x, dims):
        seen.append(squared_norms(x) is squared_norms(x))  # a record is one tensor; computed norms are new ones
        return jet(self, x, dims)

    monkeypatch.setattr(BallFactor, "jet", spy)
    torch.manual_seed(0)
    trainer = SDGDTrainer(problem=AllenCahn(dim=12, batch_size=16), model=MLP(12, 1, width=16, depth=2),
                          engine=TaylorEngine(num_dims=4), balancer=FixedWeights(),
                          optimizer=functools.partial(adam, lr=1e-3), steps=2, progress=False, eval_every=0,
                          log_every=0, eval_points=50)
    trainer.fit()
    assert seen == [True, True]
