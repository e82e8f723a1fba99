"""Model registry: immutable versions, aliases with history, signatures, cards, loading.

Names load lazily (their list is ``__init__.pyi``): a domain module imported on its own, such
as the SDK facade's, does not pull in pandas and the rest of the package.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
