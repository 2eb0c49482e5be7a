"""The agencies as the core sees them: the Connector protocol and its discovery, the gateway
every call goes through (contracts, retries, rate limits), circuits and their stored state,
and the simulators served on loopback."""
