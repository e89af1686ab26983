"""The Jordan child-protection Information Sharing Protocol, as a Git repository."""

__version__ = "0.1.0"
