"""Test-wide settings: DeepXDE's backend, cache directories off the home folder, deterministic threads."""

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="sciml-test-")
os.environ.setdefault("DDE_BACKEND", "pytorch")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_CACHE, "mpl"))
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(_CACHE, "inductor"))
os.environ.setdefault("MESA_SHADER_CACHE_DIR", os.path.join(_CACHE, "mesa"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SCIML_KERNEL_CACHE", os.path.join(_CACHE, "wide_kernels.json"))


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="module")
def one_thread():
    """Small models: one thread avoids OpenMP barrier stalls on a shared, oversubscribed machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
