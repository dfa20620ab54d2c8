"""Fields: lazy access to a network's value and derivatives at a batch of points.

A residual asks for what it needs — ``u.value``, ``u.grad``, ``u.d("t")``, ``u.d("x", "x")``,
``u.laplacian``, ``u.hessian_diag`` — and the :class:`~sciml.engines.Engine` decides how it is computed
(exactly by forward Taylor propagation or autograd, or stochastically). A PDE is written once and runs
under every engine. Results are cached per field, so asking twice costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from sciml.engines.base import Engine


class _Cache(dict):
    """Computed quantities shared by a field and its component views, keyed by name."""


class Field:
    """The network ``model`` evaluated at points ``x`` (shape ``(n, dim)``), with derivatives on demand.

    For a single-output model every quantity drops the output axis (``value`` is ``(n,)``); a
    multi-output model is indexed by output name or position (``u["re"]``) to get a scalar component.
    """

    def __init__(self, model: nn.Module, x: Tensor, variables: list[str], engine: Engine,
                 spatial_dims: list[int] | None = None, outputs: list[str] | None = None,
                 data: dict[str, Tensor] | None = None) -> None:
        self.model, self.x, self.variables, self.engine = model, x, list(variables), engine
        self.spatial_dims = list(range(len(variables))) if spatial_dims is None else list(spatial_dims)
        self.outputs = list(outputs) if outputs else ["u"]
        self.data = data or {}
        self.cache = _Cache()
        self.component: int | None = 0 if len(self.outputs) == 1 else None

    # --- views ----------------------------------------------------------------------------------------
    def __getitem__(self, key: int | str) -> Field:
        index = self.outputs.index(key) if isinstance(key, str) else int(key)
        view = object.__new__(Field)
        view.__dict__.update(self.__dict__)
        view.component = index
        return view

    def _select(self, full: Tensor) -> Tensor:
        """Drop the output axis (last) for a scalar view."""
        return full if self.component is None else full[..., self.component]

    # --- coordinates ----------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def index(self, name: str) -> int:
        try:
            return self.variables.index(name)
        except ValueError:
            raise KeyError(f"unknown variable {name!r}; variables are {self.variables}") from None

    def var(self, name: str) -> Tensor:
        """The coordinate column ``name`` of the points, shape ``(n,)``."""
        return self.x[:, self.index(name)]

    # --- quantities -----------------------------------------------------------------------------------
    def _get(self, key: str, compute) -> Tensor:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def value(self) -> Tensor:
        return self._select(self._get("value", lambda: self.engine.value(self)))

    @property
    def grad(self) -> Tensor:
        """Gradient with respect to all inputs, ``(n, dim)``."""
        return self._select(self._get("grad", lambda: self.engine.gradient(self)))

    @property
    def laplacian(self) -> Tensor:
        """Sum of second derivatives over the spatial variables (all but time), ``(n,)``."""
        return self._select(self._get("laplacian", lambda: self.engine.laplacian(self)))

    @property
    def hessian_diag(self) -> Tensor:
        """Second derivatives ``∂²u/∂x_i²`` for the spatial variables, ``(n, len(spatial))``."""
        return self._select(self._get("hessian_diag", lambda: self.engine.hessian_diag(self)))

    def operator(self, first: Mapping[str, float] | None = None,
                 second: Mapping[str, float] | None = None) -> Tensor:
        """The linear operator ``Σ_i a_i ∂u/∂x_i + Σ_j b_j ∂²u/∂x_j²`` with constant coefficients
        ``first = {name: a_i}`` and ``second = {name: b_j}``, e.g. ``u.operator({"t": 1}, {"x": -ν})`` for
        ``u_t − ν u_xx``. The exact engine with an MLP carries it as one channel of the forward jet (the
        forward Laplacian generalised; ``sciml/models/jets.py``), so ``u_t`` and ``u_xx`` need no channels of
        their own; other engines and models sum the derivatives. Same value either way."""
        terms = []
        for coefficients in (first or {}, second or {}):
            terms.append(tuple(sorted((self.index(name), float(value)) for name, value in coefficients.items()
                                      if value != 0)))
        if not any(terms):
            raise ValueError("u.operator needs at least one nonzero coefficient")
        key = f"op:{terms[0]}:{terms[1]}"
        return self._select(self._get(key, lambda: self.engine.operator(self, terms[0], terms[1])))

    def d(self, *names: str) -> Tensor:
        """Partial derivative, e.g. ``u.d("t")``, ``u.d("x", "x")`` or the mixed ``u.d("x", "t")``."""
        if len(names) == 1:
            i = self.index(names[0])
            return self._select(self._get(f"d1:{i}", lambda: self.engine.first(self, i)))
        if len(names) == 2:
            i, j = sorted((self.index(names[0]), self.index(names[1])))
            if i == j:
                return self._select(self._get(f"d2:{i}", lambda: self.engine.second(self, i)))
            return self._select(self._get(f"d2:{i},{j}", lambda: self.engine.mixed(self, i, j)))
        raise ValueError("u.d takes one or two variable names")


def evaluate(model: nn.Module, x: Tensor, chunk: int = 65_536) -> Tensor:
    """Model output at ``x`` without gradients, in chunks to bound memory."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])
