"""What the payment providers share: notification signatures, the REST client and simulator
bases, the settlement report. Each provider (connectors.epay, connectors.bankmuscat) is one
`Provider` over these."""
