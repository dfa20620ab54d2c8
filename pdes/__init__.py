"""The PDE catalogue: one module per family, each implementing :class:`sciml.problem.Problem`."""
