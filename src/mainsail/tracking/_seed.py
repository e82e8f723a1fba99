"""Seed every random number generator we know of, and record the seed."""

from __future__ import annotations

import importlib.util
import os
import random
import sys

from mainsail.core._errors import InvalidValueError
from mainsail.tracking._run import record_seed


def seed_everything(seed: int) -> int:
    """Seed ``random``, numpy and torch (if installed), and record the seed on runs.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.seed_everything(42)  # doctest: +SKIP
    42
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise InvalidValueError(f"A seed must be an integer in [0, 2**32). Got {seed!r}.")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed)
    if "torch" in sys.modules or importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)
    record_seed(seed)
    return seed
