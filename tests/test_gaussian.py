"""The counter-based Gaussian draw of the ball problems (sciml/geometry/gaussian.py, pdes/ball.py)."""

import math

import pytest
import torch
from scipy import stats

from pdes.ball import RadialBallSampler
from sciml.errors import ConfigError
from sciml.geometry.gaussian import counter_directions, counter_normal, hash_words, lowbias32

N = 1 << 21


def reference_lowbias32(x: int) -> int:
    """Wellons' lowbias32 on Python integers (unbounded, masked to 32 bits after each product)."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def test_lowbias32_matches_the_reference_on_the_whole_word_range():
    # edges of the 32-bit range (where a signed 32-bit or an unsplit 64-bit product would overflow) and a spread
    words = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, *range(12345, 2**32, 2**32 // 997)]
    assert lowbias32(torch.tensor(words, dtype=torch.int64)).tolist() == [reference_lowbias32(w) for w in words]
    keys = torch.tensor([0xDEADBEEF, 0x0BADF00D])
    expected = [reference_lowbias32(reference_lowbias32(i ^ 0xDEADBEEF) ^ 0x0BADF00D) for i in range(8)]
    assert hash_words(keys, torch.arange(8)).tolist() == expected


def test_int32_words_are_the_exact_words_bit_for_bit():
    # the compiled loop hashes int32 bit patterns with wrapping products; 1,004 words also run its scalar tail
    words = torch.tensor([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, *range(12345, 2**32, 2**32 // 997)])
    keys = torch.tensor([0xDEADBEEF, 0x8BADF00D])
    exact = hash_words(keys, words)
    for hashed in (hash_words, torch.compile(hash_words, dynamic=False)):
        assert torch.equal(hashed(keys, words.to(torch.int32)).to(torch.int64) & 0xFFFFFFFF, exact)


def test_compiled_draw_equals_the_eager_operations():
    # the compiled loop computes the same words; only the rounding of log/cos/sin may differ
    for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
        fast = counter_normal((64, 1001), torch.Generator().manual_seed(11), dtype)
        slow = counter_normal((64, 1001), torch.Generator().manual_seed(11), dtype, compiled=False)
        assert fast.dtype == dtype and torch.allclose(fast, slow, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_moments_and_ks_against_the_normal(dtype):
    z = counter_normal((N,), torch.Generator().manual_seed(3), dtype).double()
    assert z.dtype == torch.float64 and torch.isfinite(z).all()
    sigma = 1 / math.sqrt(N)
    assert abs(float(z.mean())) < 5 * sigma
    assert abs(float(z.var()) - 1) < 5 * math.sqrt(2) * sigma
    assert abs(float((z**4).mean()) - 3) < 5 * math.sqrt(96) * sigma  # Var(z⁴) = 105 − 9 = 96
    assert abs(float((z**3).mean())) < 5 * math.sqrt(15) * sigma
    assert stats.kstest(z.numpy(), "norm").pvalue > 1e-3
    # the cosine and sine halves (one uniform pair each) are uncorrelated
    half = z[: N // 2], z[N // 2:]
    assert abs(float((half[0] * half[1]).mean())) < 5 * math.sqrt(2) * sigma


def test_directions_are_uniform_on_the_sphere():
    # on S², each coordinate of a uniform direction is U[−1, 1] (Archimedes) and the azimuth is uniform
    z = counter_normal((N // 4, 3), torch.Generator().manual_seed(4), torch.float64)
    v = z / z.norm(dim=1, keepdim=True)
    for k in range(3):
        assert stats.kstest(v[:, k].numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3
    azimuth = (torch.atan2(v[:, 1], v[:, 0]) + math.pi) / (2 * math.pi)
    assert stats.kstest(azimuth.numpy(), "uniform").pvalue > 1e-3
    # in high dimension: coordinates of mean 0 and variance 1/d, no preferred direction
    d = 4096
    w = counter_normal((256, d), torch.Generator().manual_seed(5), torch.float64)
    w = w / w.norm(dim=1, keepdim=True)
    assert abs(float(w.mean())) < 5 / math.sqrt(256 * d) and abs(float(w.var() * d) - 1) < 0.02
    assert float((w.sum(0) / 256).norm()) < 1.2 * math.sqrt(d / 256) / math.sqrt(d)


def test_seeded_reproducible_and_resumable():
    gen = torch.Generator().manual_seed(7)
    first = counter_normal((50, 64), gen)
    state = gen.get_state()
    second = counter_normal((50, 64), gen)
    assert not torch.equal(first, second)  # the generator advanced
    assert torch.equal(first, counter_normal((50, 64), torch.Generator().manual_seed(7)))
    resumed = torch.Generator()
    resumed.set_state(state)  # what a checkpoint restores
    assert torch.equal(second, counter_normal((50, 64), resumed))


def test_counter_draw_feeds_the_sampler():
    sampler = RadialBallSampler(300, normal="counter")
    sampler.min_count = 0
    x = sampler.sample(40, torch.Generator().manual_seed(1), torch.float32)
    assert torch.equal(x, sampler.sample(40, torch.Generator().manual_seed(1), torch.float32))
    assert float(x.norm(dim=1).max()) <= 1 + 1e-6
    old = RadialBallSampler(300, threads=2, normal="torch")
    old.min_count = 0
    assert not torch.equal(x, old.sample(40, torch.Generator().manual_seed(1), torch.float32))


def test_unknown_normal_is_refused():
    with pytest.raises(ConfigError, match="normal"):
        RadialBallSampler(10, normal="philox")


def test_directions_are_the_normalised_pairs_scaled_by_the_radius():
    rows, cols = 6, 10
    gen = torch.Generator().manual_seed(21)
    radius = torch.rand(rows, 1, generator=gen, dtype=torch.float64)
    keys = torch.randint(0, 1 << 32, (2,), generator=gen.clone_state(), dtype=torch.int64)
    x = counter_directions(radius, cols, gen, torch.float64)
    # the same numbers from the words themselves: pair p of row b uses words 2p and 2p + 1, p = b·h + j
    half = cols // 2
    first = 2 * torch.arange(rows * half, dtype=torch.int64)
    u1 = (hash_words(keys, first).double() + 0.5) / 2**32
    u2 = hash_words(keys, first + 1).double() / 2**32
    r, theta = torch.sqrt(-2 * torch.log(u1)), 2 * math.pi * (u2 - 0.5)
    n = torch.cat([(r * torch.cos(theta)).view(rows, half), (r * torch.sin(theta)).view(rows, half)], 1)
    expected = radius * n / n.norm(dim=1, keepdim=True)
    assert torch.allclose(x, expected, rtol=1e-12, atol=1e-14)
    assert torch.allclose(x.norm(dim=1, keepdim=True), radius, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_directions_equal_the_eager_ones(dtype):
    radius = torch.rand(33, 1, dtype=dtype)
    fast = counter_directions(radius, 2000, torch.Generator().manual_seed(2), dtype)
    slow = counter_directions(radius, 2000, torch.Generator().manual_seed(2), dtype, compiled=False)
    tol = 1e-6 if dtype == torch.float32 else 1e-13
    assert torch.allclose(fast, slow, rtol=tol, atol=tol)


def test_fused_sampler_follows_the_ball_law():
    d, n = 512, 4096
    sampler = RadialBallSampler(d, normal="counter")
    sampler.min_count = 0
    x = sampler.sample(n, torch.Generator().manual_seed(8), torch.float64)
    norms = x.norm(dim=1)
    assert stats.kstest(norms.numpy(), "uniform").pvalue > 1e-3  # radius U[0, 1]
    v = x / norms[:, None]
    assert abs(float(v.mean())) < 5 / math.sqrt(n * d) and abs(float(v.var() * d) - 1) < 0.02
    # no column of the row layout (cosines first, sines second) is special
    per_column = (v.square().mean(0) * d).numpy()
    assert abs(per_column[: d // 2].mean() - per_column[d // 2 :].mean()) < 0.03
    with pytest.raises(ValueError, match="cols must be even"):
        counter_directions(torch.rand(2, 1), 7, torch.Generator())
