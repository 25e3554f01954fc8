"""sartail: long-tailed classification of SAR target chips."""
__version__ = "0.1.0"
