"""The records store: tables, engine, migrations and the unit of work."""
