"""The real signature of a construct class, for ``help()`` and ``inspect.signature``.

jsii's metaclass defines ``__call__(cls, *args, **kwargs)``, and ``inspect.signature`` of a class
looks at a metaclass ``__call__`` before ``__init__``: ``help(MetadataGenerationRun)`` opened
with ``(*args: Any, **kwargs) -> ~M``. An explicit ``__signature__`` comes first of all.
"""

from __future__ import annotations

import inspect

from constructs import Construct


def show_init_signature(cls: type[Construct]) -> None:
    """Make ``inspect.signature(cls)`` (and so ``help(cls)``) the one of ``cls.__init__``."""
    init = inspect.signature(cls.__init__, eval_str=True)
    parameters = list(init.parameters.values())[1:]  # without self
    cls.__signature__ = init.replace(parameters=parameters, return_annotation=inspect.Signature.empty)
