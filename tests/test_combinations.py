"""Every strategy with every other: each combination trains under the step contract or is refused up front.

The matrix (``python tests/test_combinations.py`` prints it as Markdown, as in the README):

- every balancer × every optimizer group on a small Helmholtz problem, with fresh points every step and
  with one fixed point set;
- every trainer × model × engine on a time-dependent problem (and the models on a ball problem);
- every balancer × each non-PINN trainer with a first-order, a quasi-Newton and a Gauss-Newton optimizer;
- every balancer × every optimizer group on an inverse problem (an unknown Robin coefficient).

A combination passes when it is refused with a :class:`ConfigError` before training, or when it trains four
steps with finite parameters, one balancer decision per optimizer step, and — in closure and Gauss-Newton
phases, whose step minimises the fixed objective ``Σ α_i L_i`` of that step's decision — an objective at
the end of each step no larger than at its start (same points, same ``α``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare
from sciml.errors import ConfigError

BALANCERS = sorted(p.stem for p in (Path(CONFIG_DIR) / "balancer").glob("*.yaml"))
OPTIMIZERS = sorted(p.stem for p in (Path(CONFIG_DIR) / "optimizer").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (Path(CONFIG_DIR) / "trainer").glob("*.yaml"))
MODELS = sorted(p.stem for p in (Path(CONFIG_DIR) / "model").glob("*.yaml"))
ENGINES = sorted(p.stem for p in (Path(CONFIG_DIR) / "engine").glob("*.yaml"))
#: one optimizer per kind of consumer: first-order, quasi-Newton (closure), Gauss-Newton (residuals)
KINDS = ["adam", "lbfgs", "lm"]
STEPS = 4
QUIET = ["trainer.progress=false", "trainer.eval_every=0", "trainer.log_every=0", "trainer.plot=false",
         f"trainer.steps={STEPS}", "dtype=float64"]
#: small sizes per model (keys differ between models)
SMALL_MODEL = {
    "mlp": ["model.width=12", "model.depth=2"], "modified_mlp": ["model.width=12", "model.depth=2"],
    "laaf": ["model.width=12", "model.depth=2"], "gaaf": ["model.width=12", "model.depth=2"],
    "fourier": ["model.width=12", "model.depth=2"], "periodic_mlp": ["model.width=12", "model.depth=2"],
    "separable": ["model.width=8", "model.rank=2"], "lagrangian": ["model.x_width=8", "model.u_width=8",
                                                                   "model.u_depth=2"],
}
ENGINE_SMALL = {"exact": [], "sdgd": ["engine.num_dims=1"], "taylor": ["engine.num_dims=1"],
                "hutchinson": ["engine.num_probes=2"]}
HELMHOLTZ = ["pde=helmholtz", "pde.batch_size.pde=48", "pde.batch_size.bc=32", *SMALL_MODEL["mlp"]]
CONVECTION = ["pde=convection", "pde.batch_size.pde=48", "pde.batch_size.ic=16", "pde.batch_size.bc=16"]
#: the LPINN trainer's terms are its own (configs/trainer/lpinn.yaml)
LPINN_SMALL = ["trainer.batch_size={x: 48, u: 48, x0: 16, u0: 16, bc: 16}"]
TRAINER_ARGS = {"lpinn": [*LPINN_SMALL, "trainer.particles=64"], "sdgd": ["trainer.eval_points=200"],
                "causal": [], "pinn": []}
#: what a non-PINN trainer needs beside it to train at all
TRAINER_PARTNERS = {"lpinn": ["model=lagrangian", *SMALL_MODEL["lagrangian"]], "causal": SMALL_MODEL["mlp"],
                    "sdgd": ["engine=taylor", "engine.num_dims=1", *SMALL_MODEL["mlp"]], "pinn": SMALL_MODEL["mlp"]}


def compose_config(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[*QUIET, *overrides])


def objective_at(trainer, points, draws: torch.Tensor) -> float:
    """The balancer's current objective ``Σ α_i L_i`` on ``points``, with a stochastic engine's directions
    drawn from the generator state ``draws`` (the step's); the generator is left as it was."""
    now = trainer.generator.get_state()
    trainer.generator.set_state(draws)
    value = float(trainer.balancer.objective(trainer.losses(points)).detach())
    trainer.generator.set_state(now)
    return value


def measure_end_of_step(trainer, step_start: dict, ends: list[float]) -> None:
    """Record the step's objective at its end, before the techniques release their per-step weights (the
    causal weights of a step are part of its objective)."""
    for technique in trainer.techniques.values():
        release = technique.after_step

        def measured(release=release):
            if step_start:
                ends.append(objective_at(trainer, step_start["points"], step_start["draws"]))
            release()
        technique.after_step = measured


def train(overrides: list[str]) -> tuple[str, str]:
    """``("refused", message)`` or ``("trained", detail)``; anything else raises (a test failure)."""
    try:
        trainer = prepare(compose_config(overrides), None, {})
    except ConfigError as error:
        assert "\n" not in str(error), "a refusal is one line"
        return "refused", str(error)
    ends: list[float] = []
    step_start: dict = {}
    measure_end_of_step(trainer, step_start, ends)
    for step in range(STEPS):
        phase = trainer.plan.at(trainer.step)
        step_start.clear()
        ends.clear()
        if not phase.first_order:  # the fixed set the step will use, and the generator state it starts from
            step_start.update(points=trainer.points_for(phase), draws=trainer.generator.get_state())
        _, total = trainer.train_step()
        assert math.isfinite(float(total)), f"non-finite objective at step {step}"
        if step_start:
            after = ends[0] if ends else objective_at(trainer, step_start["points"], step_start["draws"])
            assert after <= float(total) * (1 + 1e-9) + 1e-300, \
                f"{phase.name} step {step} increased its objective: {float(total):.6g} -> {after:.6g}"
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters()), "non-finite parameters"
    assert int(trainer.balancer.decisions) == STEPS, "one balancer decision per optimizer step"
    return "trained", f"{float(total):.3g}"


BALANCER_OPTIMIZER = [(b, o, r) for b in BALANCERS for o in OPTIMIZERS for r in ("true", "false")]


@pytest.mark.parametrize("balancer,optimizer,resample", BALANCER_OPTIMIZER,
                         ids=[f"{b}-{o}-resample_{r}" for b, o, r in BALANCER_OPTIMIZER])
def test_balancer_with_optimizer(balancer, optimizer, resample, one_thread):
    train([*HELMHOLTZ, f"balancer={balancer}", f"optimizer={optimizer}", f"trainer.resample={resample}"])


TRAINER_MODEL_ENGINE = [(t, m, e) for t in TRAINERS for m in MODELS for e in ENGINES]


def trainer_model_engine(trainer: str, model: str, engine: str) -> list[str]:
    return [*CONVECTION, f"trainer={trainer}", f"model={model}", f"engine={engine}", *SMALL_MODEL[model],
            *TRAINER_ARGS[trainer], "optimizer=adam", *ENGINE_SMALL[engine]]


@pytest.mark.parametrize("trainer,model,engine", TRAINER_MODEL_ENGINE,
                         ids=[f"{t}-{m}-{e}" for t, m, e in TRAINER_MODEL_ENGINE])
def test_trainer_model_engine(trainer, model, engine, one_thread):
    train(trainer_model_engine(trainer, model, engine))


@pytest.mark.parametrize("model", MODELS)
def test_models_on_a_ball(model, one_thread):
    train(["pde=poisson_ball", "pde.dim=4", "pde.batch_size=32", f"model={model}", *SMALL_MODEL[model],
           "trainer=sdgd", "trainer.eval_points=200", "optimizer=adam"])


ROBIN = ["pde=robin_identification", "pde.batch_size=16", "model.width=8", "model.depth=2"]
INVERSE = [(b, o) for b in BALANCERS for o in OPTIMIZERS]


@pytest.mark.parametrize("balancer,optimizer", INVERSE, ids=[f"{b}-{o}" for b, o in INVERSE])
def test_inverse_problem_with_every_balancer_and_optimizer(balancer, optimizer, one_thread):
    """The unknown (a Robin coefficient) trains with the network under every plan and balancer."""
    train([*ROBIN, f"balancer={balancer}", f"optimizer={optimizer}"])


NON_PINN = [(b, t, o) for b in BALANCERS for t in ("causal", "lpinn", "sdgd") for o in KINDS]


def balancer_trainer(balancer: str, trainer: str, optimizer: str) -> list[str]:
    problem = ["pde=poisson_ball", "pde.dim=4", "pde.batch_size=32"] if trainer == "sdgd" else CONVECTION
    return [*problem, f"trainer={trainer}", *TRAINER_PARTNERS[trainer], *TRAINER_ARGS[trainer],
            f"balancer={balancer}", f"optimizer={optimizer}"]


@pytest.mark.parametrize("balancer,trainer,optimizer", NON_PINN, ids=[f"{b}-{t}-{o}" for b, t, o in NON_PINN])
def test_balancer_under_non_pinn_trainer(balancer, trainer, optimizer, one_thread):
    train(balancer_trainer(balancer, trainer, optimizer))


@pytest.mark.parametrize("trainer,terms", [("pinn", "[pde]"), ("sdgd", "[pde]"), ("lpinn", "[x,u]")])
def test_causal_weighting_composes_with_every_trainer(trainer, terms, one_thread):
    """``trainer.causal.enabled=true`` weights the named residual terms under any loop, and the schedule state
    is a checkpointed technique."""
    overrides = [*CONVECTION, f"trainer={trainer}", *TRAINER_PARTNERS[trainer], *TRAINER_ARGS[trainer],
                 "trainer.causal.enabled=true", f"trainer.causal.terms={terms}", "optimizer=adam_lbfgs",
                 "optimizer.switch=[2]"]
    assert train(overrides)[0] == "trained"
    built = prepare(compose_config(overrides), None, {})
    assert list(built.techniques) == ["causal"] and "technique/causal" in built.training_state()
    built.train_step()
    assert 0 < built.techniques["causal"].weights.min_weight <= 1


#: PINNacle's method columns as techniques (adapting every 2 steps, so that the 4 steps adapt twice)
TECHNIQUES = {"rar": ["trainer.adaptive.method=rar", "trainer.adaptive.every=2", "trainer.adaptive.add=4",
                      "trainer.adaptive.candidates=64"],
              "rad": ["trainer.adaptive.method=rad", "trainer.adaptive.every=2", "trainer.adaptive.candidates=64"],
              "gpinn": ["trainer.gpinn.enabled=true"]}
TECHNIQUE_TRAINER = [(q, t, o, r) for q in TECHNIQUES for t in TRAINERS for o in KINDS
                     for r in (("true", "false") if t == "pinn" else ("true",))]


def technique_trainer(technique: str, trainer: str, optimizer: str, resample: str = "true") -> list[str]:
    problem = ["pde=poisson_ball", "pde.dim=4", "pde.batch_size=32"] if trainer == "sdgd" else CONVECTION
    terms = ["trainer.adaptive.terms=[x]", "trainer.gpinn.terms=[x]"] if trainer == "lpinn" else []
    return [*problem, f"trainer={trainer}", *TRAINER_PARTNERS[trainer], *TRAINER_ARGS[trainer],
            *TECHNIQUES[technique], *terms, f"optimizer={optimizer}", f"trainer.resample={resample}"]


@pytest.mark.parametrize("technique,trainer,optimizer,resample", TECHNIQUE_TRAINER,
                         ids=[f"{q}-{t}-{o}-resample_{r}" for q, t, o, r in TECHNIQUE_TRAINER])
def test_technique_under_every_trainer(technique, trainer, optimizer, resample, one_thread):
    train(technique_trainer(technique, trainer, optimizer, resample))


@pytest.mark.parametrize("balancer", BALANCERS)
def test_lbfgs_sees_one_objective_per_step(balancer, one_thread):
    """Every evaluation inside an L-BFGS step (its line search included) uses the weights decided at the
    step's start: the balancer decides once per step and the objective does not move within it."""
    trainer = prepare(compose_config([*HELMHOLTZ, f"balancer={balancer}", "optimizer=lbfgs"]), None, {})
    seen: list[tuple[int, torch.Tensor]] = []
    objective = trainer.balancer.objective

    def recording(losses):
        seen.append((int(trainer.balancer.decisions), trainer.balancer.objective_weights.clone()))
        return objective(losses)

    trainer.balancer.objective = recording
    for step in range(STEPS):
        trainer.train_step()
        assert int(trainer.balancer.decisions) == step + 1
    assert len(seen) > 2 * STEPS, "the line search re-evaluated the objective"
    for decision in range(1, STEPS + 1):
        weights = [w for d, w in seen if d == decision]
        assert weights and all(torch.equal(w, weights[0]) for w in weights)


def matrix_markdown() -> str:
    """The combination matrix as Markdown tables (trained / refused), as the README shows it."""
    torch.set_num_threads(1)
    lines = ["#### Balancer × optimizer (Helmholtz; fresh points / one fixed set)", "",
             "| balancer | " + " | ".join(OPTIMIZERS) + " |", "|---" * (len(OPTIMIZERS) + 1) + "|"]
    for b in BALANCERS:
        cells = []
        for o in OPTIMIZERS:
            results = {train([*HELMHOLTZ, f"balancer={b}", f"optimizer={o}", f"trainer.resample={r}"])[0]
                       for r in ("true", "false")}
            cells.append("/".join(sorted(results)))
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines += ["", "#### Trainer × model × engine (convection; refused: the reason)", "",
              "| trainer | model | " + " | ".join(ENGINES) + " |", "|---" * (len(ENGINES) + 2) + "|"]
    for t in TRAINERS:
        for m in MODELS:
            cells = [train(trainer_model_engine(t, m, e))[0] for e in ENGINES]
            lines.append(f"| {t} | {m} | " + " | ".join(cells) + " |")
    lines += ["", "#### Balancer × non-PINN trainer (first-order / quasi-Newton / Gauss-Newton)", "",
              "| balancer | " + " | ".join(f"{t}: {'/'.join(KINDS)}" for t in ("causal", "lpinn", "sdgd")) + " |",
              "|---" * 4 + "|"]
    for b in BALANCERS:
        cells = ["/".join(train(balancer_trainer(b, t, o))[0] for o in KINDS) for t in ("causal", "lpinn", "sdgd")]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines += ["", "#### Technique × trainer (first-order / quasi-Newton / Gauss-Newton)", "",
              "| technique | " + " | ".join(f"{t}: {'/'.join(KINDS)}" for t in TRAINERS) + " |",
              "|---" * (len(TRAINERS) + 1) + "|"]
    for q in TECHNIQUES:
        cells = ["/".join(train(technique_trainer(q, t, o))[0] for o in KINDS) for t in TRAINERS]
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines += ["", "#### Balancer × optimizer on an inverse problem (an unknown Robin coefficient)", "",
              "| balancer | " + " | ".join(OPTIMIZERS) + " |", "|---" * (len(OPTIMIZERS) + 1) + "|"]
    for b in BALANCERS:
        cells = [train([*ROBIN, f"balancer={b}", f"optimizer={o}"])[0] for o in OPTIMIZERS]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(matrix_markdown() + "\n")
