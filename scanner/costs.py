"""What each chain step's views have cost lately: does the next one fit this frame?

The chain skips a step (never interrupts it) when the time spent plus what the step is
expected to cost would pass the frame's budget.  The expectation is a running mean per
view, seeded with the step's rough prior; a step skipped for its cost drifts back to that
prior, so one that once looked slow is tried again instead of being shut out for good.
"""
from __future__ import annotations

#: Weight of the newest view in the running mean.
MEAN_WEIGHT = 0.2
#: A skipped step learns nothing, so its mean drifts back this much towards its prior.
FORGET = 0.9


class StepCosts:
    """Running per-view cost (ms) of each step, keyed by the step's name."""

    def __init__(self) -> None:
        self._mean: dict[str, float] = {}

    def expected(self, name: str, prior_ms: float) -> float:
        """What the step's next view is expected to cost: `prior_ms` until it has run."""
        return self._mean.get(name, prior_ms)

    def learn(self, name: str, ms: float) -> None:
        """Fold in what one view of the step has just cost."""
        old = self._mean.get(name)
        self._mean[name] = ms if old is None else (1 - MEAN_WEIGHT) * old + MEAN_WEIGHT * ms

    def forget(self, name: str, prior_ms: float) -> None:
        """The step was skipped for its cost: its mean drifts back towards the prior."""
        mean = self._mean.get(name)
        if mean is not None and mean > prior_ms:
            self._mean[name] = prior_ms + FORGET * (mean - prior_ms)

    def clear(self) -> None:
        self._mean.clear()
