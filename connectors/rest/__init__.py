"""The shared part of the REST/JSON agency connectors (moci, occi, labour): the validating
httpx client and the simulator base with its fault modes. No agency lives here."""
