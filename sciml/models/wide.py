"""The first layer of a network on a very wide input (``d`` up to 10⁶), with sparse Taylor tangents.

For a second-order jet along coordinate directions ``e_i`` (Shi et al., NeurIPS 2024, "Stochastic Taylor
Derivative Estimator", Sec. 4: the first layer's tangent along ``e_i`` is column ``i`` of ``W₁``), the only
``d``-wide work of a step is the primal product ``x W₁ᵀ`` and the weight gradient ``g_zᵀ x``. This module
does both with one matrix product each and adds the gradient of the gathered columns with an
``index_add`` — no ``d``-sized zeros, one-hot tensors or per-direction gradients are ever formed.

On CPU, float32 products can go to oneDNN (``mkldnn._linear_pointwise``) or to torch's default BLAS, and
which is faster depends on the processor, the thread count and the shape (oneDNN was several times faster
on AMD Zen cores; other processors differ). The route is chosen by measurement: the first product of a
shape class (the power-of-two sizes of its rows, inner dimension and columns) runs once on each route with
the real operands, timed, and the faster route is kept for the class in the process. Overrides:

- ``SCIML_WIDE_KERNEL=onednn|blas`` forces a route (reproducible timings, comparisons); ``auto`` (default)
  measures;
- the decisions are kept on disk (``$XDG_CACHE_HOME/sciml/wide_kernels.json``, or the file
  ``SCIML_KERNEL_CACHE`` names; ``SCIML_KERNEL_CACHE=0`` keeps them in the process only), keyed by CPU model,
  torch version, thread count and shape class: a machine measures once, and later processes (a resumed run
  included) take the same route.

A measured choice is not deterministic, and the two routes round differently: bit-identical runs across
processes rely on that cache (or on ``SCIML_WIDE_KERNEL``).
Products with no dimension of at least 4096 (the network's narrow layers, small problems), other dtypes
and other devices always use ``torch.nn.functional``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from sciml.errors import ConfigError
from sciml.models.jets import affine_tangent

ROUTES = ("onednn", "blas")
_MIN_WIDE = 4096  # products whose rows, inner dimension and columns are all narrower go to BLAS
_decisions: dict[str, str] = {}
_disk: dict[str, str] | None = None


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def shape_class(kind: str, rows: int, inner: int, cols: int) -> str:
    """The decision key of a product ``(rows × inner) · (inner × cols)``: its sizes rounded up to powers of 2."""
    return f"{kind} {'x'.join(str(max(s - 1, 0).bit_length()) for s in (rows, inner, cols))}"


def fastest(routes: dict[str, Callable[[], Tensor]], repeats: int = 3,
            clock: Callable[[], float] = time.perf_counter) -> tuple[str, Tensor]:
    """Run each route once to warm it up, then ``repeats`` times interleaved; the route with the smallest
    best time and its last result."""
    results = {name: fn() for name, fn in routes.items()}
    best = dict.fromkeys(routes, float("inf"))
    for _ in range(repeats):
        for name, fn in routes.items():
            start = clock()
            results[name] = fn()
            best[name] = min(best[name], clock() - start)
    name = min(best, key=best.__getitem__)
    return name, results[name]


def _cache_file() -> Path | None:
    setting = os.environ.get("SCIML_KERNEL_CACHE", "")
    if setting in ("0", "off"):
        return None
    if setting not in ("", "1", "on"):
        return Path(setting)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sciml" / "wide_kernels.json"


def _disk_key(key: str) -> str:
    return f"{cpu_model()} | torch {torch.__version__} | {key}"


def _load_disk(path: Path) -> dict[str, str]:
    global _disk
    if _disk is None:
        try:
            _disk = {k: v for k, v in json.loads(path.read_text()).items() if v in ROUTES}
        except (OSError, ValueError, AttributeError):
            _disk = {}
    return _disk


def _remember(key: str, route: str) -> None:
    _decisions[key] = route
    path = _cache_file()
    if path is None:
        return
    disk = _load_disk(path)
    disk[_disk_key(key)] = route
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(disk, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _eligible(a: Tensor, rows: int, inner: int, cols: int) -> bool:
    return (a.device.type == "cpu" and a.dtype == torch.float32 and max(rows, inner, cols) >= _MIN_WIDE
            and torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def onednn_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x Wᵀ + b`` through oneDNN's linear primitive (float32 on CPU; not differentiable)."""
    # a transposed full tensor is fine as oneDNN's weight (no copy); slices are never passed
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, bias, "none", [], "")


def routed(kind: str, a: Tensor, b: Tensor, bias: Tensor | None, blas: Callable[[], Tensor]) -> Tensor:
    """``a bᵀ (+ bias)`` by the route chosen for its shape class (oneDNN or ``blas()``; module docstring)."""
    rows, inner, cols = a.shape[0], a.shape[1], b.shape[0]
    forced = os.environ.get("SCIML_WIDE_KERNEL", "auto")
    if forced not in (*ROUTES, "auto"):
        raise ConfigError("SCIML_WIDE_KERNEL", f"unknown value {forced!r}; options: auto, onednn, blas")
    if not _eligible(a, rows, inner, cols) or forced == "blas":
        return blas()
    if forced == "onednn":
        return onednn_linear(a, b, bias)
    key = f"{shape_class(kind, rows, inner, cols)} | {torch.get_num_threads()} threads"
    route = _decisions.get(key)
    if route is None and (path := _cache_file()) is not None:
        route = _load_disk(path).get(_disk_key(key))
        if route is not None:
            _decisions[key] = route
    if route is None:
        route, out = fastest({"onednn": lambda: onednn_linear(a, b, bias), "blas": blas})
        _remember(key, route)
        return out
    return onednn_linear(a, b, bias) if route == "onednn" else blas()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x Wᵀ + b`` (not differentiable on the oneDNN route: use it under ``no_grad`` or in a backward)."""
    if x.dim() != 2:
        return F.linear(x, weight, bias)
    return routed("forward", x, weight, bias, lambda: F.linear(x, weight, bias))


class _InputLayer(torch.autograd.Function):
    """``(z, T) = (x W₁ᵀ + b, W₁[:, dims]ᵀ)``; backward: ``∇W₁ = g_zᵀ x`` then ``index_add`` of ``g_T``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, dims: Tensor) -> tuple[Tensor, Tensor]:
        ctx.save_for_backward(x, weight, dims)
        return linear(x, weight, bias), weight.index_select(1, dims).T.contiguous()

    @staticmethod
    def backward(ctx, grad_z: Tensor, grad_t: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, dims = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_z @ weight
        if ctx.needs_input_grad[1]:
            gz_t = grad_z.T.contiguous()
            # the product is wide in its output (d columns), not in its inner dimension (the batch)
            grad_w = routed("weight_grad", gz_t, x.T, None, lambda: gz_t @ x)
            grad_w.index_add_(1, dims, grad_t.T.to(grad_w.dtype))
        if ctx.needs_input_grad[2]:
            grad_b = grad_z.sum(0)
        return grad_x, grad_w, grad_b, None


def input_layer_jet(x: Tensor, weight: Tensor, bias: Tensor, scale: Tensor | None,
                    dims: Tensor | None) -> tuple[Tensor, Tensor]:
    """Pre-activation ``z = x W₁ᵀ + b`` and the first-layer tangents, shape ``(m, width)``.

    ``dims``: ``None`` (every coordinate), an integer tensor of coordinates (tangent = gathered columns of
    ``W₁``), or a float ``(m, d)`` matrix of directions (tangent = ``V W₁ᵀ``). ``scale`` is the input
    scaling ``1/std`` (``None`` when the inputs are not scaled).
    """
    sparse = dims is not None and not dims.is_floating_point() and x.shape[1] >= _MIN_WIDE
    if sparse and not x.requires_grad and torch.is_grad_enabled():  # narrow inputs: the plain route
        z, tangent = _InputLayer.apply(x, weight, bias, dims)
        return z, tangent if scale is None else tangent * scale[dims].unsqueeze(1)
    z = F.linear(x, weight, bias) if torch.is_grad_enabled() else linear(x, weight, bias)
    return z, affine_tangent(weight if scale is None else weight * scale, dims)


__all__ = ["ROUTES", "cpu_model", "fastest", "input_layer_jet", "linear", "onednn_linear", "routed", "shape_class"]
