"""tradeopt: friend-shoring analysis of CEPII BACI trade by linear programming.

The library package is ``optimize``; the ``tradeopt`` command is ``cli.py``.
"""
__version__ = "0.1.0"
