"""The shared part of the SOAP 1.1 agency connectors (rop, electricity): the client that writes
each request from the WSDL's types, checks every reply against the agency XSD, reads it once and
sorts failures for the retry policy, and the simulator base with its fault modes. No agency
lives here."""
