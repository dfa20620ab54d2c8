"""Stochastic Taylor derivative estimator (STDE) with coordinate directions: SDGD through sparse jets.

Shi, Hu, Lin, Kawaguchi et al., NeurIPS 2024, "Stochastic Taylor Derivative Estimator" (Sec. 4.2, Eq. 7):
the SDGD estimate ``(D/|J|) Σ_{i∈J} ∂²u/∂x_i²`` with every ``∂²u/∂x_i²`` obtained by pushing a
second-order Taylor jet ``(x, e_i, 0)`` forward through the network. Along ``e_i`` the first layer's
tangent is column ``i`` of ``W₁``, so a sampled direction costs the narrow hidden layers only and the one
``d``-wide product per step is the primal forward (plus its weight gradient): see
:meth:`sciml.models.MLP.taylor` and ``sciml/models/wide.py``. Models without a ``taylor`` method fall
back to nested reverse mode.
"""

from __future__ import annotations

from sciml.engines.sdgd import SDGDEngine


class TaylorEngine(SDGDEngine):
    """:class:`~sciml.engines.sdgd.SDGDEngine` with sparse forward Taylor jets (``engine=taylor``)."""

    name = "taylor"
    default_jets = "taylor"


__all__ = ["TaylorEngine"]
