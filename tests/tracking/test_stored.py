"""Stored runs read back: a run by id or by a unique prefix of its id."""

from __future__ import annotations

import pytest

from mainsail.core import RunNotFoundError
from mainsail.store import Context
from mainsail.tracking._run import start_run
from mainsail.tracking._stored import resolve_run


def _runs(ctx: Context, ids: list[str]) -> None:
    for rid in ids:
        ctx.store.create_run(rid, "exp", f"r-{rid[:4]}")


def test_a_unique_prefix_finds_its_run(ctx: Context) -> None:
    with start_run(ctx, experiment="exp") as run:
        pass
    assert resolve_run(ctx, run.id).id == run.id
    assert resolve_run(ctx, run.id[:8]).id == run.id


def test_an_ambiguous_or_unknown_prefix_is_a_clear_error(ctx: Context) -> None:
    _runs(ctx, ["abc1" + "0" * 28, "abc2" + "0" * 28, "x_y" + "0" * 29])
    with pytest.raises(RunNotFoundError, match="'abc' matches several runs"):
        resolve_run(ctx, "abc")
    with pytest.raises(RunNotFoundError, match="'zzzz' matches no run"):
        resolve_run(ctx, "zzzz")
    assert resolve_run(ctx, "abc2").id.startswith("abc2")


def test_like_wildcards_in_a_prefix_match_nothing_by_accident(ctx: Context) -> None:
    _runs(ctx, ["abc1" + "0" * 28])
    # '_' and '%' would be LIKE wildcards: such a reference is taken as a whole id.
    with pytest.raises(RunNotFoundError, match="No run with id 'ab_'"):
        resolve_run(ctx, "ab_")
    with pytest.raises(RunNotFoundError, match="No run with id 'a%'"):
        resolve_run(ctx, "a%")
    with pytest.raises(RunNotFoundError, match="No run with id"):
        resolve_run(ctx, "a' OR '1'='1")


def test_the_sdk_binds_its_functions_without_loading_pandas() -> None:
    """The facade binds domain functions at import; touching ``mainsail.start_run`` loads
    the tracking, dataset and registry facades, and none of them pulls in pandas or numpy."""
    import subprocess
    import sys

    code = (
        "import sys, mainsail; mainsail.start_run; mainsail.list_models; mainsail.get_dataset\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
