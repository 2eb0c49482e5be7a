"""The `hub` command line for operations staff (Typer + Rich): one module per command group,
each a thin face that parses, calls one function of the core and renders."""
