"""The knowledge base: cited, bilingual YAML, its schema, loader and checks."""

from .loader import KnowledgeBase, KnowledgeError, Problem, default_data_dir, load
from .schema import CHAIN_STEPS, FREQUENCY_CLASSES, LEVELS

__all__ = [
    "CHAIN_STEPS",
    "FREQUENCY_CLASSES",
    "LEVELS",
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "default_data_dir",
    "load",
]
