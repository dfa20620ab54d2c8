"""Laplace (Gauss-Newton) uncertainty of the scalar unknowns of an inverse problem at the end of training.

Each loss term ``k`` is read as an observation model: its residuals are independent, centred, with variance
``σ_k²`` — given (``Term.noise_std``) or estimated from the residuals themselves, with the degrees of
freedom the fit used (:func:`laplace_covariance`). The negative log-likelihood ``Σ_k ‖r_k‖² / (2σ_k²)``
has the Gauss-Newton Hessian

    H = Σ_k J_kᵀ J_k / σ_k² + δ I,        J_k = ∂r_k/∂θ,

over all trained parameters θ (network and unknowns); ``δ`` is a weak Gaussian prior, ``prior`` times the
mean diagonal of the data part, which keeps the network block invertible. The Laplace approximation of the
posterior is ``N(θ̂, H⁻¹)`` (MacKay 1992; Daxberger et al. 2021, "Laplace redux", Sec. 2). The marginal
covariance of the unknowns' parameters ``p`` is their block of ``H⁻¹`` (the inverse of the Schur complement
``H_pp − H_pn H_nn⁻¹ H_np``: the network's freedom to absorb a change of an unknown widens its interval), and
an unknown ``θ = g(p)`` gets ``sd(θ) = |g'(p)| sd(p)`` and the 95 % interval ``θ ± 1.96 sd(θ)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

Z95 = 1.959963984540054


def term_variances(blocks: dict[str, tuple[Tensor, Tensor]], given: dict[str, float | None]) -> dict[str, float]:
    """``σ_k²`` per term: ``given[k]²`` when known, else ``‖r_k‖² / n_k`` (the starting point of the degrees
    of freedom correction in :func:`laplace_covariance`)."""
    out = {}
    for name, (r, _) in blocks.items():
        std = given.get(name)
        out[name] = float(std) ** 2 if std is not None else float(r.double().square().mean())
    return out


def laplace_covariance(blocks: dict[str, tuple[Tensor, Tensor]], given: dict[str, float | None],
                       scalars: list[int], prior: float = 1e-8, iterations: int = 3) -> tuple[Tensor, dict]:
    """The Laplace covariance (float64) of the parameters in columns ``scalars`` of the Jacobians, and the
    noise variances used.

    A variance that is not given is re-estimated with the term's degrees of freedom, ``σ_k² = ‖r_k‖² /
    (n_k − γ_k)``, where ``γ_k = tr(H⁻¹ J_kᵀJ_k) / σ_k²`` is the number of parameters the term determines
    (MacKay 1992, Eq. 4.4–4.5: the residuals of a fit are smaller than its noise by the parameters it
    used), iterated ``iterations`` times from ``‖r_k‖² / n_k``. Terms whose Jacobian or residuals vanish (a
    condition the model satisfies exactly) carry no information on the parameters and are left out."""
    variances = term_variances(blocks, given)
    informative = {name: (r.double(), jac.double()) for name, (r, jac) in blocks.items()
                   if variances[name] > 0 and bool(jac.abs().sum() > 0)}
    if not informative:
        raise ValueError("no term carries information on the parameters")
    grams = {name: jac.mT @ jac for name, (_, jac) in informative.items()}
    size = next(iter(grams.values())).shape[0]
    eye = torch.eye(size, dtype=torch.float64, device=next(iter(grams.values())).device)
    for _ in range(iterations + 1):
        hessian = sum(gram / variances[name] for name, gram in grams.items())
        hessian = hessian + prior * hessian.diagonal().mean() * eye
        cov = torch.cholesky_inverse(torch.linalg.cholesky(hessian))
        for name, (r, _) in informative.items():
            if given.get(name) is None:
                used = float((cov * grams[name]).sum()) / variances[name]
                variances[name] = float(r.square().sum()) / max(r.numel() - used, 1.0)
    return cov[scalars][:, scalars], variances


def interval(value: float, derivative: float, variance: float) -> dict[str, float | list[float]]:
    """``{"value", "std", "ci95"}`` of ``θ = g(p)`` from the variance of ``p`` and ``g'(p)``."""
    std = abs(derivative) * max(variance, 0.0) ** 0.5
    return {"value": value, "std": std, "ci95": [value - Z95 * std, value + Z95 * std]}
