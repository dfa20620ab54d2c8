"""How far PINNacle's Burgers1d-C reference (COMSOL, data/pinnacle/burgers1d.npz) lies from the exact solution
(Cole-Hopf, pdes/pinnacle/burgers1d.py): the L2RE a network equal to the truth would score, per time level and
over all 1,111 nodes (the metric's norm). Run: ``python benchmarks/pinnacle/burgers_reference_error.py``."""

import numpy as np

from pdes.pinnacle._common import crossed, load
from pdes.pinnacle.burgers1d import Burgers1D, cole_hopf


def main() -> None:
    x, ref = crossed(load(Burgers1D.data_file))
    exact = cole_hopf(x[:, 0], x[:, 1], Burgers1D().viscosity)
    print("| t | L2RE of the reference | largest |u_ref − u| |")
    print("|---|---|---|")
    for t in np.unique(x[:, 1]):
        at = x[:, 1] == t
        error = ref[at, 0] - exact[at]
        print(f"| {t:.1f} | {np.linalg.norm(error) / np.linalg.norm(exact[at]):.2e} | {np.abs(error).max():.2e} |")
    total = np.linalg.norm(ref[:, 0] - exact) / np.linalg.norm(exact)
    print(f"| all (the metric) | {total:.3e} | {np.abs(ref[:, 0] - exact).max():.2e} |")


if __name__ == "__main__":
    main()
