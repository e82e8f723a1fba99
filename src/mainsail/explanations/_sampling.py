"""Model-agnostic Shapley values by sampling: permutations, and shap's Kernel explainer.

They call the model only through its predictions (``predict_proba`` for classifiers, in
probability space; ``predict`` otherwise, raw), so they explain any flavor, ONNX and
python-function models included. Missing features are filled in from background rows (a
bounded sample, drawn deterministically), so background data is required.

Both give values that add up to the model's output (the permutation method by
construction, Kernel SHAP through its constraint); ``Explanation.additivity_error`` reports
how closely they did. The permutation method needs only numpy; Kernel SHAP needs ``shap``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import _deps
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView
from mainsail.explanations._protocol import require_background
from mainsail.explanations._tabular import Codec, sample_rows


def scoring_function(model: ModelView, codec: Codec) -> Callable[[np.ndarray], np.ndarray]:
    """The model's output on coded rows: ``(n,)`` for one output, ``(n, k)`` for more."""

    def score(matrix: np.ndarray) -> np.ndarray:
        out = model.score(codec.decode(matrix))
        return out[:, 0] if out.shape[1] == 1 else out

    return score


class _SamplingExplainer:
    name: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    needs_background: ClassVar[bool] = True

    def __init__(self, max_background: int = 100, seed: int = 0) -> None:
        self.max_background = max_background
        self.seed = seed

    def supports(self, model: ModelView) -> bool:
        # a classifier's labels have no scale to attribute: its probabilities are needed
        return model.has_proba if model.task == "classification" else True

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation:
        bg = sample_rows(
            require_background(self.name, model, background, self.max_background),
            self.max_background,
            self.seed,
        )
        codec = Codec(X, bg)
        output = model.score(X)
        values, base = self._attribute(scoring_function(model, codec), codec, X, bg)
        n, k = output.shape
        return Explanation(
            values=np.asarray(values, dtype="float64").reshape(n, X.shape[1], k),
            base_values=np.asarray(base, dtype="float64").reshape(n, k),
            output=output,
            data=X,
            output_space=model.score_space(),
            method=self.name,
            outputs=model.score_outputs(k),
            exact=False,
            model=model.label,
            background_rows=len(bg),
        )

    def _attribute(
        self, score: Callable[[np.ndarray], np.ndarray], codec: Codec, X: pd.DataFrame, bg: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class PermutationExplainer(_SamplingExplainer):
    """Shapley values by antithetic permutation sampling, with independent masking.

    For each row and each sampled order of the features (and the reverse order), features
    are switched from background values to the row's values one at a time; each switch's
    change in the model's mean output over the background rows is that feature's marginal
    contribution. Every order walks from the mean output on the background to the row's
    output, so the attributions add up exactly (the algorithm of shap's
    ``PermutationExplainer`` with an ``Independent`` masker, batched over rows in plain
    numpy: no JIT compilation on first use).

    Parameters
    ----------
    n_permutations : int, default 10
        Pairs of (order, reverse order) sampled per row. The model scores
        ``2 * n_permutations * (n_features - 1) * background rows`` rows per explained row.
    max_background : int, default 100
        Background rows used (a deterministic sample of ``background=``).
    seed : int, default 0
        Seeds the background sample and the orders.
    """

    name: ClassVar[str] = "permutation"
    auto_rank: ClassVar[int | None] = 90

    #: Model rows scored per call at most (bounds memory; several explained rows share one).
    BATCH_ROWS: ClassVar[int] = 200_000

    def __init__(self, n_permutations: int = 10, max_background: int = 100, seed: int = 0):
        super().__init__(max_background=max_background, seed=seed)
        self.n_permutations = n_permutations

    def _attribute(
        self, score: Callable[[np.ndarray], np.ndarray], codec: Codec, X: pd.DataFrame, bg: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(self.n_permutations, int) or self.n_permutations < 1:
            raise InvalidValueError(
                f"n_permutations must be a positive integer. Got {self.n_permutations!r}."
            )
        x = codec.encode(X)
        b = codec.encode(bg)
        n, f = x.shape
        rng = np.random.default_rng(self.seed)
        orders = [rng.permutation(f) for _ in range(self.n_permutations)]
        orders += [o[::-1] for o in orders]
        base = _outputs(score(b)).mean(axis=0)  # every feature masked: (k,)
        full = _outputs(score(x))  # no feature masked: (n, k)
        k = full.shape[1]
        values = np.zeros((n, f, k))
        per_row = max(1, (f - 1) * len(b))
        chunk = max(1, self.BATCH_ROWS // per_row)
        for order in orders:
            for lo in range(0, n, chunk):
                rows = x[lo : lo + chunk]
                # (rows, steps f-1, background, features): after step t, the first t + 1
                # features of the order carry the row's values.
                masked = np.empty((len(rows), f - 1, len(b), f))
                current = np.broadcast_to(b, (len(rows), len(b), f)).copy()
                for t in range(f - 1):
                    current[:, :, order[t]] = rows[:, order[t], None]
                    masked[:, t] = current
                if f > 1:
                    scored = _outputs(score(masked.reshape(-1, f)))
                    mean = scored.reshape(len(rows), f - 1, len(b), k).mean(axis=2)
                else:  # one feature: it takes the whole step from base to output
                    mean = np.empty((len(rows), 0, k))
                path = np.concatenate(
                    [np.broadcast_to(base, (len(rows), 1, k)), mean, full[lo : lo + chunk, None]],
                    axis=1,
                )
                values[lo : lo + chunk, order, :] += np.diff(path, axis=1)
        values /= len(orders)
        return values, np.broadcast_to(base, (n, k))


def _outputs(out: np.ndarray) -> np.ndarray:
    return out.reshape(len(out), -1)


class KernelExplainer(_SamplingExplainer):
    """Kernel SHAP (``shap.KernelExplainer``): a weighted linear fit over feature coalitions.

    Parameters
    ----------
    n_samples : int, optional
        Coalitions evaluated per row. Default: ``2 * n_features + 2048`` (shap's "auto").
    max_background : int, default 50
        Background rows used (a deterministic sample of ``background=``); Kernel SHAP's cost
        grows with them.
    seed : int, default 0
        Seeds the background sample and the coalition sampling.
    """

    name: ClassVar[str] = "kernel"
    auto_rank: ClassVar[int | None] = None

    def __init__(self, n_samples: int | None = None, max_background: int = 50, seed: int = 0):
        super().__init__(max_background=max_background, seed=seed)
        self.n_samples = n_samples

    def _attribute(
        self, score: Callable[[np.ndarray], np.ndarray], codec: Codec, X: pd.DataFrame, bg: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        shap = _deps.shap()
        n_samples = self.n_samples or 2 * X.shape[1] + 2048
        explainer = shap.KernelExplainer(score, codec.encode(bg))
        # Kernel SHAP draws coalitions from numpy's global generator: seed it for this call
        # and give the caller's state back.
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            values = explainer.shap_values(
                codec.encode(X), nsamples=n_samples, l1_reg=False, silent=True
            )
        finally:
            np.random.set_state(state)
        expected = np.asarray(explainer.expected_value, dtype="float64").reshape(1, -1)
        return np.asarray(values), np.broadcast_to(expected, (len(X), expected.shape[1]))


__all__ = ["KernelExplainer", "PermutationExplainer", "scoring_function"]
