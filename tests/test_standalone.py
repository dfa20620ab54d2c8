"""A clone of the repository works on its own: nothing reads files from outside it.

The reference data of Raissi et al. ship in ``data/raissi``; these tests fail if a project file points at a
folder beside the repository again, and load every reference grid from a bare copy of the project files.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the sibling-folder paths that the project must not read (assembled here so that this file does not match)
OUTSIDE = [b"../" + b"shared", b"shared" + b"/data"]


def project_files() -> list[str]:
    """Files that a commit would hold: tracked ones plus new ones git does not ignore (skips without git)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    proc = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    return [name for name in proc.stdout.decode().split("\0") if name and (REPO / name).is_file()]


def test_no_project_file_reads_a_folder_beside_the_repository():
    offending = [f"{name}: {pattern.decode()}" for name in project_files()
                 for pattern in OUTSIDE if pattern in (REPO / name).read_bytes()]
    assert not offending, offending


# each grid's shape and its initial condition against the closed form (u is a complex h for NLS)
CHECK = textwrap.dedent("""
    import numpy as np
    from pathlib import Path
    from pdes import _reference

    assert Path(_reference.__file__).resolve().is_relative_to(Path.cwd().resolve()), _reference.__file__
    assert _reference.data_dir().resolve() == (Path.cwd() / "data" / "raissi").resolve()
    initial = {"burgers_shock.mat": ((256, 100), lambda x: -np.sin(np.pi * x)),
               "NLS.mat": ((256, 201), lambda x: 2 / np.cosh(x)),
               "AC.mat": ((512, 201), lambda x: x**2 * np.cos(np.pi * x))}
    for name, (shape, u0) in initial.items():
        grid = _reference.load(name)
        assert grid.u.shape == shape and grid.x.shape == shape[:1] and grid.t.shape == shape[1:], name
        assert grid.t[0] == 0.0, name
        np.testing.assert_allclose(np.abs(grid.u[:, 0]) if np.iscomplexobj(grid.u) else grid.u[:, 0],
                                   u0(grid.x), atol=1e-6, err_msg=name)
    print("ok")
""")


def test_a_bare_copy_loads_every_reference_grid(tmp_path):
    copy = tmp_path / "clone"
    for name in project_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    assert not (tmp_path / "shared").exists()
    env = {key: value for key, value in os.environ.items() if key != "SCIML_DATA"}
    env["PYTHONPATH"] = str(copy)
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
