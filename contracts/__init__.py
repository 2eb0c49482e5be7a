"""The hub's contracts as files: JSON Schema for messages and canonical models, agency WSDL/XSD."""

from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
