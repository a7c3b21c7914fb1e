"""tropical: the eps-indexed family of semirings, from log-sum-exp to max-plus.
"""
from ._version import __version__
