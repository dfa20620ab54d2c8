"""Recipes (configs/recipe/) are training set-ups apart from problems: each trains any problem, shipped or
the user's own, and takes the solution's scale from the problem (``model.output_scale: auto``)."""

import math
import textwrap
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare
from sciml.errors import ConfigError

RECIPES = sorted(p.stem for p in (Path(CONFIG_DIR) / "recipe").glob("*.yaml"))
SMALL = ["trainer.steps=2", "trainer.eval_every=2", "trainer.eval_points=64", "trainer.progress=false",
         "model.width=16", "model.depth=2"]

# a user's own problem, outside the package: Δu = f on the unit ball in d dimensions with u = 0 on the sphere
# and the exact solution u = (1 − ‖x‖²) Σ_i sin(x_i) · √d, of magnitude ~ √d, which the class declares
USER_MODULE = textwrap.dedent('''
    import math

    import torch

    from sciml.models.constrained import BallFactor, HardConstraint
    from sciml.problem import Problem, Term
    from pdes.ball import RadialBallSampler


    class SineBall(Problem):
        name = "sine_ball"
        time_variable = None

        def __init__(self, dim: int = 10, batch_size: int = 16) -> None:
            self.variables = [f"x{i}" for i in range(dim)]
            self.batch_size = batch_size
            self.sampler = RadialBallSampler(dim)

        @property
        def output_scale(self) -> float:
            return math.sqrt(self.dim)

        def exact(self, x):
            g = 1 - x.square().sum(1, keepdim=True)
            return math.sqrt(self.dim) * g * torch.sin(x).sum(1, keepdim=True)

        def residual(self, u):
            x = u.x
            g = 1 - x.square().sum(1)
            s, c = torch.sin(x).sum(1), torch.cos(x)
            lap = g * (-s) - 4 * (x * c).sum(1) - 2 * self.dim * s
            return u.laplacian - math.sqrt(self.dim) * lap

        def terms(self):
            return {"pde": Term(self.sampler, self.residual, self.batch_size)}

        def constrain(self, model):
            return HardConstraint(model, BallFactor(1.0))


    class PlainBall(SineBall):
        """The same problem, declaring no scale (for pde.output_scale in the config)."""

        output_scale = 1.0
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "recipe_user_problem.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "recipe_user_problem"


def composed(overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=overrides)


def prepared(overrides):
    return prepare(composed(overrides), None, {})


def problems(module: str) -> dict[str, list[str]]:
    return {"poisson_ball": ["pde=poisson_ball", "pde.dim=10", "pde.batch_size=16"],
            "allen_cahn_ball": ["pde=allen_cahn_ball", "pde.dim=10", "pde.solution=three_body", "pde.batch_size=16"],
            "user": ["pde=custom", f"pde._target_={module}.SineBall", "+pde.dim=10"]}


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("problem", ["poisson_ball", "allen_cahn_ball", "user"])
def test_every_recipe_trains_every_problem(recipe, problem, user_module, one_thread):
    trainer = prepared([f"recipe={recipe}", *problems(user_module)[problem], *SMALL])
    assert trainer.model.output_scale == pytest.approx(math.sqrt(10))
    assert type(trainer.engine).__name__ == {"stde": "TaylorEngine", "sdgd": "SDGDEngine", "pinnacle": "Engine",
                                      "new_problem": "Engine"}[recipe]
    summary = trainer.fit()
    assert trainer.step == 2 and math.isfinite(summary["rel_l2"])


@pytest.mark.parametrize("recipe", RECIPES)
def test_no_recipe_sets_a_problem_key(recipe):
    text = yaml.safe_load((Path(CONFIG_DIR) / "recipe" / f"{recipe}.yaml").read_text())
    assert "pde" not in text
    assert not any("pde" in str(entry) for entry in text.get("defaults", []))
    for problem in ("poisson", "hjb_lin", "sine_gordon_ball"):
        plain, with_recipe = composed([f"pde={problem}"]), composed([f"pde={problem}", f"recipe={recipe}"])
        assert with_recipe.pde == plain.pde


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_keeps_the_model_output_scale_auto(recipe):
    assert composed([f"recipe={recipe}"]).model.output_scale == "auto"


@pytest.mark.parametrize("overrides, scale", [
    (["pde=poisson_ball", "pde.dim=40"], math.sqrt(40)),
    (["pde=sine_gordon_ball", "pde.dim=7", "pde.solution=three_body"], math.sqrt(7)),
    (["pde=poisson_ball", "pde.dim=40", "+pde.output_scale=3.5"], 3.5),
    (["pde=poisson"], 1.0),
    (["pde=hjb_lin", "pde.dim=20"], 1.0),
])
def test_auto_takes_the_problem_output_scale(overrides, scale):
    trainer = prepared([*overrides, "model.output_scale=auto", "optimizer=adam", "trainer.steps=1"])
    assert trainer.problem.output_scale == pytest.approx(scale)
    assert trainer.model.output_scale == pytest.approx(scale)


def test_auto_takes_a_user_problem_scale_from_the_class_or_the_config(user_module):
    user = ["recipe=stde", "pde=custom", "+pde.dim=12", *SMALL]
    declared = prepared([*user, f"pde._target_={user_module}.SineBall"])
    assert declared.model.output_scale == pytest.approx(math.sqrt(12))
    configured = prepared([*user, f"pde._target_={user_module}.PlainBall", "pde.output_scale=5.0"])
    assert configured.problem.output_scale == 5.0 and configured.model.output_scale == 5.0
    assert prepared([*user, f"pde._target_={user_module}.PlainBall"]).model.output_scale == 1.0
    with pytest.raises(ConfigError, match="pde.output_scale: SineBall computes its own"):
        prepared([*user, f"pde._target_={user_module}.SineBall", "pde.output_scale=5.0"])


def test_a_number_overrides_auto():
    trainer = prepared(["recipe=stde", "pde=poisson_ball", "pde.dim=40", "model.output_scale=2.0", *SMALL])
    assert trainer.model.output_scale == 2.0


@pytest.mark.parametrize("overrides, key", [
    (["model.output_scale=automatic"], "model.output_scale"),
    (["model.output_scale=-1.0"], "model.output_scale"),
    (["model.output_scale=0"], "model.output_scale"),
    (["model.output_scale=true"], "model.output_scale"),
    (["+pde.output_scale=0"], "pde.output_scale"),
    (["+pde.output_scale=big"], "pde.output_scale"),
])
def test_bad_output_scale_names_its_key(overrides, key):
    with pytest.raises(ConfigError, match=f"^{key}: must be a positive number"):
        prepared([*overrides, "optimizer=adam", "trainer.steps=1"])


@pytest.mark.parametrize("experiment, recipe, problem, scale", [
    ("stde_poisson", "stde", "poisson_ball", math.sqrt(30)),
    ("stde_allen_cahn", "stde", "allen_cahn_ball", math.sqrt(30)),
    ("stde_sine_gordon", "stde", "sine_gordon_ball", math.sqrt(30)),
    ("sdgd_poisson", "sdgd", "poisson_ball", 1.0),
    ("sdgd_allen_cahn", "sdgd", "allen_cahn_ball", 1.0),
    ("sdgd_sine_gordon", "sdgd", "sine_gordon_ball", 1.0),
    ("sdgd_hjb_lin", "stde", "hjb_lin", 1.0),
])
def test_experiments_are_a_recipe_and_a_problem(experiment, recipe, problem, scale):
    """Each such experiment is its recipe plus pde keys, and keeps the output scale it was recorded with."""
    cfg, alone = composed([f"experiment={experiment}"]), composed([f"recipe={recipe}", f"pde={problem}"])
    for group in ("trainer", "engine", "optimizer", "balancer", "callbacks", "guard", "seed", "dtype"):
        assert cfg[group] == alone[group], group
    assert {k: v for k, v in cfg.model.items() if k != "output_scale"} == \
        {k: v for k, v in alone.model.items() if k != "output_scale"}
    small = ["pde.dim=30", "trainer.steps=1", "trainer.progress=false"]
    trainer = prepared([f"experiment={experiment}", *small, *(["pde.compile=false"] if "ball" in problem else [])])
    assert trainer.model.output_scale == pytest.approx(scale)
