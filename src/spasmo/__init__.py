"""spasmo: make sense of muscle spasms and cramps, in English and Italian.

spasmo informs and triages; it does not diagnose or prescribe.
"""

__version__ = "0.1.0"  # before the imports: engine.py names its cache after it

from .engine import Engine, UnknownFindingError
from .knowledge import KnowledgeError
from .reading import ReadingError

__all__ = ["Engine", "KnowledgeError", "ReadingError", "UnknownFindingError", "__version__"]
