"""Agency connectors: each subpackage is one agency, registered as a `hub.connectors` plugin."""
