"""What the telco connectors (Omantel, Ooredoo, Friendi) share: the SMPP 3.4 ESME session
(`session.py`) and the SMSC simulator (`smsc.py`). docs/SMPP.md says why aiosmpplib."""
