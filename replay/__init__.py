"""The `hub` command line for operations staff: serve, demo, send, replay."""
