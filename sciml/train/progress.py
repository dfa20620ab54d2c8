"""A progress bar showing each term's loss, the current error and the recent steps per second."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class Progress:
    def __init__(self, total: int, enabled: bool = True, initial: int = 0) -> None:
        self.bar = tqdm(total=total, initial=initial, disable=not enabled, dynamic_ncols=True, file=sys.stderr,
                        mininterval=0.5, unit="step")
        self.shown = initial

    def advance(self, step: int) -> None:
        self.bar.update(step - self.shown)
        self.shown = step

    def update(self, step: int, row: dict, steps_per_s: float | None) -> None:
        """Show ``row``'s losses and error and ``steps_per_s`` (the trainer passes the rate over its last steps,
        train time only; ``None`` shows none), and advance to ``step``."""
        post = {k.removeprefix("loss/"): f"{v:.2e}" for k, v in row.items() if k.startswith("loss/")}
        if "rel_l2" in row:
            post["rel_l2"] = f"{row['rel_l2']:.2e}"
        if steps_per_s is not None:
            post["steps/s"] = f"{steps_per_s:.1f}"
        self.bar.set_postfix(post, refresh=False)
        self.advance(step)

    def close(self) -> None:
        self.bar.close()
