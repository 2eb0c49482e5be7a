"""The shared part of the SOAP 1.1 agency connectors (rop, electricity): the zeep client that
checks every reply against the agency XSD and sorts failures for the retry policy, and the
simulator base with its fault modes. No agency lives here."""
