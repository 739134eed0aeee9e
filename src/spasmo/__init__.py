"""spasmo: make sense of muscle spasms and cramps, in English and Italian."""

__version__ = "0.1.0"
