"""NS2d-C (PINNacle protocol points and network): the loss and its gradient with the three residuals evaluated
on one network evaluation (the trainer's ``fields``: ``mom_y`` and ``cont`` take ``mom_x``'s points) against
one evaluation per residual (what the trainer did before the residuals shared their points).

Both paths compute the same losses (checked here to the last bit) on the same fixed Hammersley set; they are
timed in alternating chunks in one process, eager (``trainer.compile=false``), float32, one thread::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pinnacle_speed/ns_shared_points.py --chunks 5 --steps 10
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare
from sciml.models.wide import cpu_model


def build():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=["recipe=pinnacle", "pde=pinnacle_ns2d_c", "trainer.compile=false",
                                           "trainer.progress=false", "trainer.plot=false"])
    return prepare(cfg, None, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="loss + gradient evaluations per chunk")
    args = parser.parse_args()
    torch.set_num_threads(1)
    trainer = build()
    trainer.train_step()  # the first step learns the jet plan (which derivatives the residuals ask for)
    points = trainer.points_for(trainer.plan.at(0))
    params = [p for p in trainer.net.parameters() if p.requires_grad]

    def shared():
        return trainer.losses(points)

    def separate():
        return {name: term.residual(trainer.field(*points[name])).square().mean()
                for name, term in trainer.terms.items()}

    a, b = shared(), separate()
    assert all(torch.equal(a[n], b[n]) for n in a), "the two paths must give the same losses"
    paths = {"shared": shared, "separate": separate}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for chunk in range(args.chunks + 1):
        order = list(paths) if chunk % 2 == 0 else list(reversed(paths))
        for name in order:
            start = time.perf_counter()
            for _ in range(args.steps):
                torch.autograd.grad(sum(paths[name]().values()), params)
            if chunk:  # the first chunk warms up
                times[name].append((time.perf_counter() - start) / args.steps)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"cpu: {cpu_model()}, torch {torch.__version__}, 1 thread")
    for name, ts in times.items():
        print(f"{name:9s} {1e3 * medians[name]:8.1f} ms per loss + gradient (chunks {1e3 * min(ts):.1f}-"
              f"{1e3 * max(ts):.1f})")
    print(f"separate / shared: {medians['separate'] / medians['shared']:.2f}x")


if __name__ == "__main__":
    main()
