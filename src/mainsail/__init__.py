"""Mainsail: closed-loop MLOps in one install.

Public names are loaded lazily so ``import mainsail`` stays fast; the first use of
``mainsail.start_run`` (say) loads what it needs. The names and where each comes from are
listed once, in ``__init__.pyi``.

Examples
--------
>>> import mainsail
>>> with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:  # doctest: +SKIP
...     run.log_metric("auc", 0.91, step=3)
"""

import lazy_loader as _lazy

from mainsail.core._version import VERSION as __version__

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = [*__all__, "__version__"]
