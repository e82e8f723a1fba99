"""The result of explaining a model on some rows: per-row, per-feature attributions.

An :class:`Explanation` holds, for every explained row and every model output (one for a
regressor or a binary classifier, one per class for a multiclass model), how much each
feature moved the model's output away from a base value::

    base_values[i, k] + values[i, :, k].sum() == output[i, k]     (within additivity_error)

The output space is stated, never implied: ``"probability"``, ``"margin"`` (log-odds for a
binary classifier, per-class scores before the softmax, the link's scale for other
objectives) or ``"raw"`` (a regressor's prediction). ``additivity_error`` is measured, not
declared: it compares the attributions with the model's own output on the same rows, so an
approximate method reports how far from additive it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError

OutputSpace = Literal["probability", "margin", "raw"]
OUTPUT_SPACES: tuple[str, ...] = ("probability", "margin", "raw")


def _as_3d(arr: Any, n: int, f: int, what: str) -> np.ndarray:
    given = np.asarray(arr, dtype="float64")
    a = given[:, :, None] if given.ndim == 2 else given
    if a.ndim != 3 or a.shape[:2] != (n, f):
        raise InvalidValueError(
            f"Expected {what} of shape ({n}, {f}) or ({n}, {f}, n_outputs). Got {given.shape}."
        )
    return a


def _as_2d(arr: Any, n: int, k: int, what: str) -> np.ndarray:
    given = np.asarray(arr, dtype="float64")
    a = given
    if a.ndim == 0:
        a = np.full((n, k), float(a))
    elif a.ndim == 1 and k == 1 and a.shape[0] == n:
        a = a[:, None]
    elif a.ndim == 1 and a.shape[0] == k:
        a = np.broadcast_to(a, (n, k)).copy()
    if a.shape != (n, k):
        raise InvalidValueError(
            f"Expected {what} of shape ({n},) or ({n}, {k}) (rows x outputs). Got {given.shape}."
        )
    return a


class Explanation:
    """Attributions of a model's output to its input features, row by row.

    Parameters
    ----------
    values : array of shape (n_rows, n_features) or (n_rows, n_features, n_outputs)
        The attribution of each feature to each output, for each row.
    base_values : scalar or array of shape (n_rows,), (n_outputs,) or (n_rows, n_outputs)
        What the output is before any feature is known (the expected output for SHAP
        methods; the local model's intercept for LIME).
    output : array of shape (n_rows,) or (n_rows, n_outputs)
        The model's own output on the rows, in ``output_space``.
    data : pandas.DataFrame
        The explained rows, in the model's column order (after input validation).
    output_space : {"probability", "margin", "raw"}
        The scale the attributions add up on.
    method : str
        The registered name of the explainer that produced it.
    outputs : sequence of str, optional
        One name per output (class labels; for a binary classifier, the positive class).
        Defaults to ``["output"]`` for one output and ``output_0, ...`` for more.
    exact : bool, default False
        Whether the method computes exact Shapley values (TreeSHAP, closed-form linear).
    model : str, optional
        What was explained, for reports ("models:/churn/3", "XGBClassifier").
    background_rows : int, optional
        Rows of background data the method measured against (``None``: none used).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> e = Explanation(
    ...     values=[[1.0, -0.5]], base_values=0.25, output=[0.75],
    ...     data=pd.DataFrame({"a": [3.0], "b": [1.0]}), output_space="raw", method="demo",
    ... )
    >>> e.additivity_error
    0.0
    >>> e.global_importance().to_dict()
    {'a': 1.0, 'b': 0.5}
    """

    def __init__(
        self,
        values: Any,
        base_values: Any,
        output: Any,
        data: pd.DataFrame,
        output_space: str,
        method: str,
        outputs: Sequence[Any] | None = None,
        exact: bool = False,
        model: str | None = None,
        background_rows: int | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise InvalidValueError(
                f"Expected the explained rows as a pandas DataFrame. Got {type(data).__name__}."
            )
        if output_space not in OUTPUT_SPACES:
            raise InvalidValueError(
                f"Unknown output space {output_space!r}. "
                f"Valid output spaces are: {', '.join(OUTPUT_SPACES)}."
            )
        n, f = data.shape
        self._values = _as_3d(values, n, f, "attributions")
        k = self._values.shape[2]
        self._base = _as_2d(base_values, n, k, "base values")
        self._output = _as_2d(output, n, k, "model outputs")
        names = [str(o) for o in outputs] if outputs is not None else None
        if names is None:
            names = ["output"] if k == 1 else [f"output_{j}" for j in range(k)]
        if len(names) != k:
            raise InvalidValueError(
                f"Expected {k} output name(s), one per output. Got {len(names)}: {names}."
            )
        self.data = data
        self.feature_names: list[str] = [str(c) for c in data.columns]
        self.outputs: list[str] = names
        self.output_space = cast(OutputSpace, output_space)
        self.method = method
        self.exact = bool(exact)
        self.model = model
        self.background_rows = background_rows

    # -- the arrays ---------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """Attributions: (n_rows, n_features), or (n_rows, n_features, n_outputs)."""
        return self._values[:, :, 0] if self.n_outputs == 1 else self._values

    @property
    def base_values(self) -> np.ndarray:
        """Base values: (n_rows,), or (n_rows, n_outputs)."""
        return self._base[:, 0] if self.n_outputs == 1 else self._base

    @property
    def output(self) -> np.ndarray:
        """The model's output the attributions add up to: (n_rows,) or (n_rows, n_outputs)."""
        return self._output[:, 0] if self.n_outputs == 1 else self._output

    @property
    def n_outputs(self) -> int:
        return int(self._values.shape[2])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    def __len__(self) -> int:
        return int(self._values.shape[0])

    @property
    def additivity_errors(self) -> np.ndarray:
        """Per row (and output): ``|base + sum(attributions) - output|``."""
        err = np.abs(self._base + self._values.sum(axis=1) - self._output)
        return err[:, 0] if self.n_outputs == 1 else err

    @property
    def additivity_error(self) -> float:
        """The largest ``|base + sum(attributions) - output|`` over rows and outputs."""
        return float(self.additivity_errors.max()) if len(self) else 0.0

    def subset(self, start: int, stop: int) -> Explanation:
        """The explanation of rows ``start:stop`` (e.g. one request's rows of a batch)."""
        return Explanation(
            values=self._values[start:stop],
            base_values=self._base[start:stop],
            output=self._output[start:stop],
            data=self.data.iloc[start:stop].reset_index(drop=True),
            output_space=self.output_space,
            method=self.method,
            outputs=self.outputs,
            exact=self.exact,
            model=self.model,
            background_rows=self.background_rows,
        )

    # -- choosing an output -------------------------------------------------------------------
    def output_index(self, output: Any = None) -> int:
        """The index of ``output`` (a name or a position); ``None`` is allowed for one output."""
        if output is None:
            if self.n_outputs == 1:
                return 0
            raise InvalidValueError(
                f"This explanation has {self.n_outputs} outputs; choose one with output=. "
                f"Valid outputs are: {', '.join(self.outputs)}."
            )
        if str(output) in self.outputs:
            return self.outputs.index(str(output))
        if isinstance(output, int | np.integer) and 0 <= int(output) < self.n_outputs:
            return int(output)
        raise InvalidValueError(
            f"Unknown output {output!r}. Valid outputs are: {', '.join(self.outputs)} "
            f"(or a position 0..{self.n_outputs - 1})."
        )

    def for_output(self, output: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(values (n, f), base (n,), output (n,))`` of one output."""
        k = self.output_index(output)
        return self._values[:, :, k], self._base[:, k], self._output[:, k]

    # -- views --------------------------------------------------------------------------------
    def to_frame(self, output: Any = None) -> pd.DataFrame:
        """Attributions as a DataFrame indexed like the explained rows.

        One output (or ``output=`` given): one column per feature. Several outputs and no
        ``output=``: columns are ``(output, feature)`` pairs.
        """
        if output is None and self.n_outputs > 1:
            cols = pd.MultiIndex.from_product(
                [self.outputs, self.feature_names], names=["output", "feature"]
            )
            flat = self._values.transpose(0, 2, 1).reshape(len(self), -1)
            return pd.DataFrame(flat, index=self.data.index, columns=cols)
        vals, _, _ = self.for_output(output)
        return pd.DataFrame(vals, index=self.data.index, columns=self.feature_names)

    def top_features(self, k: int = 5, output: Any = None) -> pd.DataFrame:
        """The ``k`` features of largest |attribution| in each row, in long form.

        Returns
        -------
        pandas.DataFrame
            Columns ``row`` (the row's index label), ``rank`` (1 = strongest), ``feature``,
            ``value`` (the feature's input value) and ``attribution``.
        """
        if not isinstance(k, int | np.integer) or k < 1:
            raise InvalidValueError(f"Expected k to be a positive integer. Got {k!r}.")
        vals, _, _ = self.for_output(output)
        k = min(int(k), vals.shape[1])
        # stable sort: ties keep the column order, so the result is deterministic
        order = np.argsort(-np.abs(vals), axis=1, kind="stable")[:, :k]
        rows = np.repeat(np.arange(len(self)), k)
        cols = order.reshape(-1)
        names = np.asarray(self.feature_names, dtype=object)
        return pd.DataFrame(
            {
                "row": np.asarray(self.data.index)[rows],
                "rank": np.tile(np.arange(1, k + 1), len(self)),
                "feature": names[cols],
                "value": self.data.to_numpy(dtype=object)[rows, cols],
                "attribution": vals[rows, cols],
            }
        )

    def global_importance(self, output: Any = None) -> pd.Series:
        """Mean |attribution| per feature, largest first.

        With several outputs and no ``output=``, the mean over rows of the sum over outputs
        of |attribution| (each class's share adds up).
        """
        if output is None:
            imp = np.abs(self._values).sum(axis=2).mean(axis=0)
        else:
            imp = np.abs(self.for_output(output)[0]).mean(axis=0)
        series = pd.Series(imp, index=self.feature_names, name="mean_abs_attribution")
        return series.sort_values(ascending=False, kind="stable")

    def to_dict(self, data: bool = False) -> dict[str, Any]:
        """A JSON-safe form (lists of floats), e.g. for a REST response.

        ``data=True`` adds the explained rows (``{"columns": [...], "data": [[...]]}``), so
        that :meth:`from_dict` can rebuild the explanation.
        """
        out = {
            "method": self.method,
            "exact": self.exact,
            "model": self.model,
            "output_space": self.output_space,
            "feature_names": self.feature_names,
            "outputs": self.outputs,
            "values": self.values.tolist(),
            "base_values": self.base_values.tolist(),
            "output": self.output.tolist(),
            "additivity_error": self.additivity_error,
            "background_rows": self.background_rows,
        }
        if data:
            from mainsail.explanations._tabular import frame_to_split

            out["data"] = frame_to_split(self.data)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        """The explanation :meth:`to_dict` ``(data=True)`` gave."""
        from mainsail.explanations._tabular import split_to_frame

        missing = [
            k
            for k in ("values", "base_values", "output", "data", "output_space", "method")
            if k not in d
        ]
        if missing:
            raise InvalidValueError(
                f"Expected an explanation with {', '.join(missing)} (Explanation.to_dict("
                f"data=True) gives them). Got keys: {', '.join(map(str, d))}."
            )
        return cls(
            values=d["values"],
            base_values=d["base_values"],
            output=d["output"],
            data=split_to_frame(d["data"], "the explained rows"),
            output_space=d["output_space"],
            method=d["method"],
            outputs=d.get("outputs"),
            exact=bool(d.get("exact", False)),
            model=d.get("model"),
            background_rows=d.get("background_rows"),
        )

    def __repr__(self) -> str:
        what = f" of {self.model}" if self.model else ""
        return (
            f"<Explanation{what}: {len(self)} rows x {len(self.feature_names)} features, "
            f"{self.n_outputs} output(s) in {self.output_space} space, method={self.method}, "
            f"additivity_error={self.additivity_error:.2g}>"
        )


__all__ = ["OUTPUT_SPACES", "Explanation", "OutputSpace"]
