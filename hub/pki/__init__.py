"""The national PKI as the hub uses it: a development CA (`hub pki init`), the configured
certificates and keys, revocation lists, and the checks a partner certificate must pass."""
