"""cs324: the CS324 Deep Learning Assignment 2, as tested software."""

__version__ = "0.1.0"
