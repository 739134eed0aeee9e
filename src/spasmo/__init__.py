"""spasmo: make sense of muscle spasms and cramps, in English and Italian.

spasmo informs and triages; it does not diagnose or prescribe.
"""

from .engine import Engine, UnknownFindingError
from .knowledge import KnowledgeError
from .reading import ReadingError

__all__ = ["Engine", "KnowledgeError", "ReadingError", "UnknownFindingError", "__version__"]
__version__ = "0.1.0"
