"""The Muscat integration hub: agencies as pluggable connectors behind versioned contracts."""

__version__ = "0.1.0"
