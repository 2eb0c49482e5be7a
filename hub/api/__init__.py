"""The partner endpoints: REST under /api/v1 and SOAP under /soap, their partners and grants.

Import the app from `hub.api.app`; this package's root imports nothing heavy, so the command
line can manage partners without loading the web stack.
"""
