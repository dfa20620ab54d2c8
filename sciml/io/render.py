"""Off-screen renders, isolated in a child process so that a missing OpenGL stack cannot crash the caller.

VTK does not raise when it finds no usable OpenGL: it aborts the process (often with SIGSEGV). The renders
therefore run in ``python -m sciml.io.render_worker``; a crash, an error or a time-out there becomes a
:class:`RenderResult` with a one-line message, and the training run or command that asked goes on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

WINDOW_VARIABLE = "VTK_DEFAULT_OPENGL_WINDOW"
DEFAULT_WINDOW = "vtkEGLRenderWindow"   # head-less rendering through EGL (no X server needed)
STATUS = "status.json"


@dataclass
class RenderResult:
    ok: bool
    message: str
    images: list[Path] = field(default_factory=list)


def render_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours plus ``env``, with an EGL window unless a window class is chosen."""
    out = {**os.environ, **(env or {})}
    out.setdefault(WINDOW_VARIABLE, DEFAULT_WINDOW)
    return out


def run_isolated(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> RenderResult:
    """Run ``argv``; a signal, a non-zero exit or a time-out comes back as a message, never as a crash."""
    full_env = render_env(env)
    window = full_env[WINDOW_VARIABLE]
    try:
        proc = subprocess.run(list(argv), env=full_env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return RenderResult(False, f"rendering did not finish within {timeout:g} s and was stopped "
                                   f"({WINDOW_VARIABLE}={window}); the exported field files are unaffected")
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return RenderResult(False, f"rendering crashed ({name}): VTK found no usable OpenGL stack with "
                                   f"{WINDOW_VARIABLE}={window}. Install an EGL or OSMesa driver (e.g. the "
                                   f"libegl1 or libosmesa6 package) or set {WINDOW_VARIABLE} to a window class "
                                   f"that works here (vtkEGLRenderWindow, vtkOSOpenGLRenderWindow, "
                                   f"vtkXOpenGLRenderWindow); the exported field files are unaffected")
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        return RenderResult(False, f"rendering failed: {detail}")
    return RenderResult(True, "ok")


def render_fields(fields_dir: str | Path, out_dir: str | Path, timeout: float = 300.0,
                  env: dict[str, str] | None = None) -> RenderResult:
    """Render every data set of ``fields_dir/manifest.json`` into ``out_dir`` (PNG, GIF for time series).

    The outcome is also written to ``out_dir/status.json`` for the run report.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous(out)
    argv = [sys.executable, "-m", "sciml.io.render_worker", str(fields_dir), str(out)]
    result = run_isolated(argv, timeout, env)
    if result.ok:
        records = json.loads((out / "renders.json").read_text())
        result.images = [out / name for name in sorted(records)]
    (out / STATUS).write_text(json.dumps({"ok": result.ok, "message": result.message}) + "\n")
    return result


def _remove_previous(out: Path) -> None:
    """Delete the images of an earlier render, so that a failed render leaves none that look current."""
    index = out / "renders.json"
    if index.is_file():
        for name in json.loads(index.read_text()):
            (out / name).unlink(missing_ok=True)
        index.unlink()
