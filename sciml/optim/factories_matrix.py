"""Factories for the matrix, role-stacked and second-order optimizers (``optimizer=`` configs).

Same signature as :mod:`sciml.optim.factory`: ``f(model, steps, **options, phase_steps=None) -> Phase``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from sciml.errors import ConfigError
from sciml.optim.factory import make_schedule, trainable
from sciml.optim.gauss_newton import GNS, EnergyNaturalGradient, LevenbergMarquardt
from sciml.optim.plan import Phase
from sciml.optim.ssbfgs import SSBFGS
from sciml.optim.stack import ROLES, RULES, Stack


def stack(model: nn.Module, steps: int, input: Mapping | None = None, hidden: Mapping | None = None,
          output: Mapping | None = None, vector: Mapping | None = None, schedule: str = "constant",
          decay_rate: float = 0.9, decay_steps: int = 1000, final_fraction: float = 0.0,
          name: str = "stack", phase_steps: int | None = None) -> Phase:
    """A rule per parameter role (:mod:`sciml.optim.stack`); each role is ``{rule: name, **options}``
    (options only: the default rule of that role with those options). The schedule scales every role."""
    rules = {role: spec for role, spec in zip(ROLES, (input, hidden, output, vector)) if spec is not None}
    for role, spec in rules.items():
        rule = dict(spec).get("rule")
        if rule is not None and rule not in RULES:
            raise ConfigError(f"{role}.rule", f"unknown rule {rule!r}; options: {', '.join(RULES)}")
        lr = dict(spec).get("lr")
        if lr is not None and not float(lr) > 0:
            raise ConfigError(f"{role}.lr", f"must be positive, got {lr}")
    try:
        opt = Stack.for_model(model, rules)
    except (TypeError, ValueError) as error:
        raise ConfigError("rules", str(error)) from error
    budget = phase_steps or steps
    return Phase(name, opt, make_schedule(opt, schedule, budget, decay_rate, decay_steps, final_fraction),
                 phase_steps)


def gns(model: nn.Module, steps: int, lr: float = 1.0, gamma: float = 1.0, max_tries: int = 20,
        chunk: int = 256, phase_steps: int | None = None) -> Phase:
    """Gradient-Normalized Smoothness / Levenberg-Marquardt on the residual vector (fixed points)."""
    if not float(gamma) > 0:
        raise ConfigError("gamma", f"must be positive, got {gamma}")
    return Phase("gns", GNS(trainable(model), lr=lr, gamma=gamma, max_tries=max_tries, chunk=chunk), None,
                 phase_steps)


def lm(model: nn.Module, steps: int, lr: float = 1.0, damping: float = 1e-3, max_tries: int = 20,
       chunk: int = 256, phase_steps: int | None = None) -> Phase:
    """Levenberg-Marquardt (gain-ratio damping) on the residual vector (fixed points)."""
    if not float(damping) > 0:
        raise ConfigError("damping", f"must be positive, got {damping}")
    return Phase("lm", LevenbergMarquardt(trainable(model), lr=lr, damping=damping, max_tries=max_tries,
                                          chunk=chunk), None, phase_steps)


def engd(model: nn.Module, steps: int, lr: float = 1.0, rcond: float | None = 1e-6, line_search: int = 20,
         chunk: int = 256, phase_steps: int | None = None) -> Phase:
    """Energy natural gradient (Gauss-Newton with a grid line search) on the residual vector; ``rcond=None``
    (``null``) is the working precision's cut-off ``10 · max(N, P) · ε``, resolved at each step."""
    if rcond is not None and (isinstance(rcond, bool) or not isinstance(rcond, (int, float)) or not 0 <= rcond < 1):
        raise ConfigError("rcond", f"must be a number in [0, 1) or null (10·max(N, P)·eps), got {rcond!r}")
    return Phase("engd", EnergyNaturalGradient(trainable(model), lr=lr, rcond=rcond, line_search=line_search,
                                               chunk=chunk), None, phase_steps)


def ssbfgs(model: nn.Module, steps: int, lr: float = 1.0, phi: float = 1.0, max_line_search: int = 25,
           phase_steps: int | None = None) -> Phase:
    """Self-scaled BFGS (``phi = 1``) or Broyden (``phi < 1``), dense; one step = one iteration."""
    if not 0.0 <= float(phi) <= 1.0:
        raise ConfigError("phi", f"must lie in [0, 1], got {phi}")
    return Phase("ssbfgs" if phi == 1.0 else "ssbroyden",
                 SSBFGS(trainable(model), lr=lr, phi=phi, max_line_search=max_line_search), None, phase_steps)
