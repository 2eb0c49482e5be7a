"""The hub's contracts as files: JSON Schema for messages and canonical models, WSDL/XSD of agencies."""

from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
