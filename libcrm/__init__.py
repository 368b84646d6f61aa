"""libcrm: user relationship management for university libraries."""

__version__ = "0.1.0"
