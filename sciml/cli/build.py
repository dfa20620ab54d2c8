"""Turn a composed hydra config into plain objects, reporting user errors as :class:`ConfigError`."""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from sciml.errors import ConfigError, require
from sciml.problem import Problem

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def build(group: str, node: DictConfig, **kwargs: Any) -> Any:
    """``instantiate(node, **kwargs)``; errors in the user's values come back naming ``group.key``.

    A problem's config (``group == "pde"``) may hold ``output_scale`` whatever the class: it is left out of
    the constructor's arguments and assigned to :attr:`sciml.problem.Problem.output_scale` afterwards
    (``null``: keep what the class declares).
    """
    if "_target_" not in node or OmegaConf.is_missing(node, "_target_"):
        raise ConfigError(f"{group}._target_", "is not set (choose an option of the group or set _target_)")
    scale = None
    if group == "pde" and "output_scale" in node:
        scale = node.output_scale
        node = node.copy()
        with open_dict(node):
            del node["output_scale"]
    built = _instantiate(group, node, **kwargs)
    if scale is not None:
        try:
            built.output_scale = scale
        except ConfigError as error:
            raise error.prefixed(group) from None
        except AttributeError:
            raise ConfigError(f"{group}.output_scale", f"{type(built).__name__} computes its own output_scale; "
                                                       "remove the key") from None
    return built


def _instantiate(group: str, node: DictConfig, **kwargs: Any) -> Any:
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = _root_cause(error)
        if isinstance(cause, ConfigError):
            raise cause.prefixed(group) from None
        if isinstance(cause, (ImportError, AttributeError)) and "_target_" in str(error) or \
                isinstance(cause, ModuleNotFoundError):
            raise ConfigError(f"{group}._target_", f"cannot import {node._target_!r}: {cause}") from None
        if isinstance(cause, TypeError):
            raise ConfigError(group, f"{cause}") from None
        raise


def model_output_scale(node: DictConfig, problem: Problem) -> dict[str, float]:
    """The ``output_scale`` argument that ``model.output_scale: auto`` stands for: the problem's own scale.

    Returns ``{"output_scale": problem.output_scale}`` for ``auto`` and ``{}`` when the config holds a positive
    number (passed as it is) or no such key (models without an output scale).
    """
    if "output_scale" not in node:
        return {}
    value = node.output_scale
    if value == "auto":
        return {"output_scale": problem.output_scale}
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf,
            "model.output_scale", f"must be a positive number or auto, got {value!r}")
    return {}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ConfigError("device", f"unknown device {name!r}; options: auto, cpu, cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was requested but no CUDA device is available; use device=cpu or auto")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ConfigError("dtype", f"unknown dtype {name!r}; options: {', '.join(DTYPES)}")
    return DTYPES[name]


def user_import_path() -> None:
    """Let ``_target_`` name modules in the working directory (a user's own PDE file)."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
