"""Multilayer perceptron with input normalisation and forward Taylor-mode derivatives.

:meth:`MLP.taylor` propagates a second-order jet along coordinate directions ``e_i`` through the network
(the "forward Laplacian" / Taylor-mode idea; Li et al. 2023, Shi et al. NeurIPS 2024, Eq. 7): for a layer
``z = W h + b`` and ``h' = σ(z)``,

    z¹ = W h¹,   z² = W h²,   h'¹ = σ'(z) z¹,   h'² = σ''(z) (z¹)² + σ'(z) z²,

started from ``h¹ = e_i`` and ``h² = 0``. The first layer's tangent along ``e_i`` is the ``i``-th column of
``W₁`` (divided by the input scale), so no ``d``-sized tangent is ever formed and the cost per direction is
that of the hidden layers only. ``dims`` may also be a float ``(m, d)`` matrix of arbitrary directions ``v``
(first-layer tangent ``W₁ v``), which is what Hutchinson trace estimation needs.

With ``adaptive = laaf | gaaf`` hidden layer ``k`` computes ``σ(c_k ⊙ z)`` with a trainable slope
``c_k = n a_k`` (Jagtap et al. 2020; :func:`sciml.models.activations.adaptive_slopes`). The slope scales the
pre-activation, so its jet ``(c z, c z¹, c z²)`` enters ``σ``'s: ``h'¹ = c σ'(cz) z¹`` and
``h'² = c² σ''(cz) (z¹)² + c σ'(cz) z²`` (:func:`~sciml.models.activations.sloped_jet`).
"""

from __future__ import annotations

from functools import cache

import torch
from torch import Tensor, nn

from sciml.compiling import compile_retainable
from sciml.errors import ConfigError, positive_int
from sciml.models.activations import Jet, adaptive_slopes, sloped_jet
from sciml.models.activations import activation as lookup_activation
from sciml.models.jets import propagate
from sciml.models.wide import input_layer_jet, linear
from sciml.transforms import inside_transform


def init_linear(layer: nn.Linear, scheme: str) -> None:
    """Initialise a linear layer (``xavier_normal`` as in Glorot & Bengio 2010, or ``xavier_uniform``)."""
    if scheme == "xavier_normal":
        nn.init.xavier_normal_(layer.weight)
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(layer.weight)
    elif scheme != "default":
        raise ConfigError("init", f"unknown init {scheme!r}; options: xavier_normal, xavier_uniform, default")
    if scheme != "default":
        nn.init.zeros_(layer.bias)


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units, ``activation`` between them, a linear output layer.

    Inputs are standardised with ``(x − mean) / std`` when ``input_stats`` is given (Wang et al. 2020
    standardise the inputs; the statistics come from the problem's domain). ``output_scale`` multiplies the
    output: the output-side counterpart of input standardisation, for solutions of magnitude ``≫ 1``, which a
    unit-scale tanh network can otherwise only reach by saturating its hidden units.

    ``adaptive`` (``none | laaf | gaaf``) gives every hidden layer trainable activation slopes, per neuron
    or per layer, scaled by ``slope_scale`` (the papers' ``n``); they are ordinary parameters
    (``slopes.k``), so every optimizer trains them and checkpoints keep them. The slope-recovery loss term of
    the LAAF paper is not available (``slope_recovery=true`` is refused): a loss on parameters alone is not a
    residual at collocation points, which is what every loss term of a problem is.
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 4,
                 activation: str = "tanh", init: str = "xavier_normal",
                 input_stats: tuple[Tensor, Tensor] | None = None, normalize: bool = True,
                 output_scale: float = 1.0, adaptive: str = "none", slope_scale: float = 10.0,
                 slope_recovery: bool = False) -> None:
        super().__init__()
        if not output_scale > 0:
            raise ConfigError("output_scale", f"must be positive, got {output_scale!r}")
        self.output_scale = float(output_scale)
        in_dim = positive_int(in_dim, "in_dim")
        out_dim = positive_int(out_dim, "out_dim")
        width = positive_int(width, "width")
        if not isinstance(depth, int) or depth < 1:
            raise ConfigError("depth", f"must be a positive integer (number of hidden layers), got {depth!r}")
        self.in_dim, self.out_dim, self.width, self.depth = in_dim, out_dim, width, depth
        self.activation_name = activation
        self.act, self.act_jet = lookup_activation(activation)
        if slope_recovery:
            raise ConfigError("slope_recovery", "the slope-recovery loss term is not available (a loss on the "
                              "slopes alone is no residual at collocation points); set it to false")
        sizes = [in_dim] + [width] * depth + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer in self.layers:
            init_linear(layer, init)
        self.slopes = adaptive_slopes(adaptive, depth, width, slope_scale)  # deterministic: draws nothing
        self.adaptive, self.slope_scale = adaptive, float(slope_scale)
        mean = torch.zeros(in_dim)
        std = torch.ones(in_dim)
        if normalize and input_stats is not None:
            mean, std = (torch.as_tensor(s, dtype=torch.float32).reshape(in_dim) for s in input_stats)
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_scale", 1.0 / std)
        self.scaled_input = self.scaling_in_use()
        #: evaluate the jet after the first layer (:func:`jet_tail`) as one compiled graph; set by the trainer
        #: for stochastic engines (``sciml/train/compiled.py``), whose whole losses are not compiled
        self.compile_tail = False

    def scaling_in_use(self) -> bool:
        """Whether the statistics standardise the inputs (identity statistics skip two ``d``-wide passes).

        Kept as the attribute ``scaled_input``, set here once and again whenever buffers are loaded, so that
        ``forward`` and ``taylor`` read a Python bool rather than a tensor comparison: no host
        synchronisation per call and no graph break under ``torch.compile``."""
        return not bool((self.input_mean == 0).all() and (self.input_scale == 1).all())

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.scaled_input = self.scaling_in_use()

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.input_mean) * self.input_scale if self.scaled_input else x

    def forward(self, x: Tensor) -> Tensor:
        h = self.normalize(x)
        first = self.layers[0]
        z = first(h) if torch.is_grad_enabled() else linear(h, first.weight, first.bias)
        h = self.act(self.sloped(0, z))
        for k, layer in enumerate(self.layers[1:-1], 1):
            h = self.act(self.sloped(k, layer(h)))
        y = self.layers[-1](h)
        return y if self.output_scale == 1.0 else y * self.output_scale

    def slope(self, k: int) -> Tensor:
        """The adaptive slope ``c_k = n a_k`` of hidden layer ``k`` (shape ``(width,)`` or ``(1,)``)."""
        return self.slope_scale * self.slopes[k]

    def sloped(self, k: int, z: Tensor) -> Tensor:
        """The pre-activation ``z`` of hidden layer ``k`` times its slope (``z`` itself without slopes)."""
        return z if self.slopes is None else self.slope(k) * z

    def activation_jets(self) -> list[Jet]:
        """One activation jet per hidden layer: ``σ``'s, or that of ``z ↦ σ(c_k z)`` with adaptive slopes."""
        if self.slopes is None:
            return [self.act_jet] * self.depth
        return [sloped_jet(self.act_jet, self.slope(k)) for k in range(self.depth)]

    #: :meth:`taylor` takes ``second`` and ``operators`` (:func:`sciml.engines.base.coordinate_jet`)
    partial_second = True
    operator_channels = True

    def taylor(self, x: Tensor, dims: Tensor | None = None, second: int | None = None,
               operators: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives along coordinate directions ``dims``.

        Returns ``(y, d1, d2)`` with ``y`` of shape ``(n, out)`` and ``d1[:, j] = ∂y/∂x_{dims[j]}``,
        ``d2[:, j] = ∂²y/∂x_{dims[j]}²`` of shape ``(n, m, out)``. ``dims=None`` means every coordinate; a
        float ``(m, in_dim)`` tensor gives derivatives along its rows instead. ``second``: second derivatives
        along the first ``second`` directions only (``d2`` then has ``second`` columns; ``None``: all).
        ``operators = (A, B)``: instead of second derivatives, ``d2[:, k] = Σ_i A_ki ∂y/∂x_i + Σ_j B_kj
        ∂²y/∂x_{dims[j]}²`` (``A``: ``(k, in_dim)``, or ``None`` for no first-order part, which spares the
        ``d``-wide product ``A W₁ᵀ``; ``B``: ``(k, m)``; ``sciml/models/jets.py``).
        Differentiable with respect to the parameters (and to ``x``).
        """
        first = self.layers[0]
        scale = self.input_scale if self.scaled_input else None
        # tangent (m, width): column i of W₁ over std_i, gathered without d-sized work (sciml/models/wide.py)
        z, tangent = input_layer_jet(self.normalize(x), first.weight, first.bias, scale, dims)
        # compiled only in training evaluations (not under torch.no_grad or torch.func transforms: per-point
        # Jacobians of Gauss-Newton phases trace the eager tail)
        fast = self.compile_tail and torch.is_grad_enabled() and not inside_transform()
        tail = compiled_tail() if fast else jet_tail
        if operators is not None:  # the first-order parts enter as the tangent Σ_i A_ki W₁[:, i] / std_i
            weight = first.weight if scale is None else first.weight * scale
            a, b = (None if t is None else t.to(dtype=weight.dtype, device=weight.device) for t in operators)
            operators = (None if a is None else a @ weight.T, b)
        jet = tail(self, z, tangent, second, operators)
        return jet if self.output_scale == 1.0 else tuple(t * self.output_scale for t in jet)

    def extra_repr(self) -> str:
        return f"in={self.in_dim}, out={self.out_dim}, width={self.width}, depth={self.depth}, " \
               f"activation={self.activation_name}" + \
               ("" if self.slopes is None else f", adaptive={self.adaptive}, slope_scale={self.slope_scale}")


def jet_tail(model: MLP, z: Tensor, tangent: Tensor, second: int | None = None,
             operators: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """The jet of ``model`` after its first affine layer: from the pre-activation ``z`` (``(n, width)``) and the
    first-layer tangents (``(m, width)``; the second-order term is zero there) to ``(y, d1, d2)`` before the
    output scale; second-order channels for the first ``second`` tangents (``None``: all), or operator
    channels ``(a, B)`` with their first-layer tangents ``a`` (``(k, width)``, ``None``: zero) and quadratic
    weights ``B``."""
    jets = model.activation_jets()
    h, s1, s2 = jets[0](z)
    # at the first layer the tangent does not depend on the point and the second-order term is zero
    h1 = s1.unsqueeze(1) * tangent
    if operators is None:
        h2, mix = s2.unsqueeze(1) * tangent[:second].square(), None
    else:
        drift, mix = operators
        h2 = s2.unsqueeze(1) * (mix @ tangent.square())
        if drift is not None:
            h2 = s1.unsqueeze(1) * drift + h2
    return propagate(model.layers[1:], jets[1:], h, h1, h2, mix)


@cache
def compiled_tail():
    """:func:`jet_tail` compiled (forward and backward fused by inductor), specialised on shapes; its graph
    may be differentiated more than once (:mod:`sciml.compiling`)."""
    return compile_retainable(jet_tail)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MLP", "count_parameters", "init_linear"]
