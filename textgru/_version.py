"""The version of textgru (read by the packaging too)."""

__version__ = "0.1.0"
