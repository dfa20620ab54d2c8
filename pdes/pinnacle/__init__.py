"""The PINNacle benchmark (Hao et al., NeurIPS 2024; specified case by case in
PINNACLE.md) as problems of this platform.

One module per case, each implementing the PDE as PINNacle's code states it (PINNACLE.md §2), its geometry,
conditions and loss terms in code order, the protocol's training point counts (§1.4) as default batch sizes
drawn by Hammersley sets, and the protocol's evaluation set (§1.5): the reference file's nodes crossed with
its time levels, or the exact solution on DeepXDE's evaluation points.

- Burgers1d-C (§2.1): ``burgers1d.Burgers1D``, scored on ``data/pinnacle/burgers1d.npz``;
- Poisson2d-CG (§2.4): ``poisson2d_cg.PoissonBoltzmann2D``, on ``poisson_boltzmann2d.npz``;
- Heat2d-LT (§2.10): ``heat2d_lt.Heat2DLongTime``, on ``heat_longtime.npz``;
- NS2d-C (§2.11): ``ns2d.NS2DLidDriven``, on ``lid_driven_a4.npz``;
- NS2d-CG (§2.12): ``ns2d.NS2DBackStep``, on ``ns_0_obstacle.npz``;
- Wave2d-MS (§2.16): ``wave2d_ms.Wave2DLongTime``, on the analytic ``g``;
- HNd (§2.20): ``heat_nd.HeatND``, on the exact solution;
- PInv (§2.21) and HInv (§2.22): ``inverse.PoissonInv`` and ``inverse.HeatInv``, on the exact ``(u, a)``.
"""
