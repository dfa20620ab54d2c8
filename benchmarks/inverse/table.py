"""Tables of the Burgers identification runs of ``run.sh``: recovered λ₁, λ₂, their relative errors, Laplace
standard deviations and 95 % intervals, and how often the intervals cover the truth over the noise draws."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from omegaconf import OmegaConf

TRUE = {"lambda1": 1.0, "lambda2": 0.01 / math.pi}
#: Raissi, Perdikaris & Karniadakis 2019, Table (Sec. 4.1.1), 2,000 points
PAPER = {"clean": {"lambda1": 0.99915, "lambda2": 0.0031794}, "1 % noise": {"lambda1": 1.00025, "lambda2": 0.0031762}}


def runs(folder: Path) -> list[tuple[dict, dict]]:
    out = []
    for summary in sorted(folder.glob("*/summary.json"), key=lambda p: int(p.parent.name)):
        out.append((OmegaConf.to_container(OmegaConf.load(summary.parent / "config.yaml")),
                    json.loads(summary.read_text())))
    return out


def error(value: float, name: str) -> float:
    return abs(value - TRUE[name]) / TRUE[name]


def row(label: str, summary: dict) -> str:
    cells = [label, f"{summary['steps']}", f"{summary['wall_s']:.0f}"]
    for name in TRUE:
        u = summary["unknowns"][name]
        covered = u["ci95"] is not None and u["ci95"][0] <= TRUE[name] <= u["ci95"][1]
        cells += [f"{u['value']:.6g}", f"{100 * error(u['value'], name):.3f} %",
                  f"{u['std']:.2g}" if u["std"] is not None else "—", "yes" if covered else "no"]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| run | steps | wall s | λ₁ | error | sd | 95 % covers | λ₂ | error | sd | 95 % covers |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def main(root: str) -> None:
    root_path = Path(root)
    print("### Clean data\n\n" + HEADER)
    for _, summary in runs(root_path / "clean"):
        print(row("clean", summary))
    noisy = runs(root_path / "noise1")
    if noisy:
        print(f"\n### 1 % noise, {len(noisy)} noise draws\n\n" + HEADER)
        for config, summary in noisy:
            print(row(f"noise seed {config['pde']['noise_seed']}", summary))
        print()
        for name in TRUE:
            values = [s["unknowns"][name] for _, s in noisy]
            covered = sum(v["ci95"] is not None and v["ci95"][0] <= TRUE[name] <= v["ci95"][1] for v in values)
            errors = [error(v["value"], name) for v in values]
            print(f"- {name}: 95 % interval covers the truth in **{covered} of {len(values)}** draws; relative "
                  f"error mean {100 * sum(errors) / len(errors):.3f} %, max {100 * max(errors):.3f} %")
    print("\nRaissi et al. (2019): " + "; ".join(
        f"{case}: λ₁ = {v['lambda1']} ({100 * error(v['lambda1'], 'lambda1'):.3f} %), λ₂ = {v['lambda2']} "
        f"({100 * error(v['lambda2'], 'lambda2'):.2f} %)" for case, v in PAPER.items()))


if __name__ == "__main__":
    main(sys.argv[1])
