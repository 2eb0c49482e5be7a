"""The hub's contracts in code: the CloudEvent envelope, the registry of schemas (compiled
once), `hub contracts check` and the breaking-change rule between versions."""
