"""refeed's version: one place, read by the packaging metadata and the feeds' generator tag."""

__version__ = "0.1.0"
