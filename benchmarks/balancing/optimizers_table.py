"""The balancer × optimizer-plan table of ``optimizers.sh``: final relative L2 error and wall time per run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PLANS = ("adam", "adam_lbfgs", "lm")
#: what each balancer is under a second-order phase (the step contract, docs/DESIGN.md)
MEANING = {
    "fixed": "fixed weights", "lra_paper": "annealed weights", "lra_code": "annealed weights",
    "lra_pinnacle": "annealed weights", "grad_norm": "gradient-norm weights", "relobralo": "loss-ratio weights",
    "pcgrad": "weights of the projected sum", "cagrad": "weights of the conflict-averse direction",
    "gcond": "weights of the resolved direction (no momentum)",
}


def runs(root: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for plan in PLANS:
        for summary in sorted((root / plan).glob("*/summary.json")):
            data = json.loads(summary.read_text())
            out[plan, data["balancer"]] = data
    return out


def main(root: str) -> None:
    table = runs(Path(root))
    balancers = sorted({b for _, b in table}, key=list(MEANING).index)
    print("| balancer | under L-BFGS / LM it defines | Adam | Adam → L-BFGS | LM |")
    print("|---|---|---|---|---|")
    for b in balancers:
        cells = []
        for plan in PLANS:
            s = table.get((plan, b))
            cells.append("—" if s is None else f"{s['rel_l2']:.2e} ({s['wall_s']:.0f} s)")
        print(f"| {b} | {MEANING[b]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
