"""orchestra: a file-based task queue for CLI coding agents."""

__version__ = "0.1.0"
