"""Table of the PInv / HInv runs of ``pinnacle.sh``: joint L2RE over (u, a), u and a alone, steps and wall time
per run, and mean ± standard deviation per configuration beside PINNacle's best published values."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from omegaconf import OmegaConf

#: PINNacle's best published joint L2RE (one third-party source, unverified; PINNACLE.md §3)
PUBLISHED = {"pinnacle_poisson_inv": (2.45e-2, "vPINN"), "pinnacle_heat_inv": (5.26e-2, "PINN-w")}


def sd(values: list[float]) -> float:
    return statistics.pstdev(values) if len(values) > 1 else 0.0


def label(cfg: dict) -> str:
    pde = cfg["pde"]
    extra = ", ".join(str(pde[k]) for k in ("variant", "coefficient") if k in pde)
    return f"{pde['_target_'].rsplit('.', 1)[1]} ({extra}; {cfg['model']['depth']}×{cfg['model']['width']})"


def main(folder: Path) -> None:
    groups: dict[str, list[dict]] = {}
    rows = ["| configuration | seed | steps | wall s | joint L2RE | u rel. L2 | a rel. L2 | stopped |",
            "|---" * 8 + "|"]
    for summary in sorted(folder.glob("*/*/summary.json")):
        cfg = OmegaConf.to_container(OmegaConf.load(summary.parent / "config.yaml"))
        s = json.loads(summary.read_text())
        groups.setdefault(label(cfg), []).append(s)
        rows.append(f"| {label(cfg)} | {cfg['seed']} | {s['steps']} | {s['wall_s']:.0f} | {s['rel_l2']:.3e} | "
                    f"{s['u_rel_l2']:.3e} | {s['a_rel_l2']:.3e} | {'yes' if 'stopped' in s else 'no'} |")
    print("\n".join(rows) + "\n")
    print("| configuration | runs | joint L2RE mean ± sd | a rel. L2 mean ± sd | published best |")
    print("|---|---|---|---|---|")
    for name, runs in groups.items():
        joint = [r["rel_l2"] for r in runs]
        a = [r["a_rel_l2"] for r in runs]
        value, method = PUBLISHED[runs[0]["pde"]]
        print(f"| {name} | {len(runs)} | {statistics.mean(joint):.3e} ± {sd(joint):.1e} | "
              f"{statistics.mean(a):.3e} ± {sd(a):.1e} | {value:.2e} ({method}) |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "multirun/inverse_pinnacle"))
