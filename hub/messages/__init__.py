"""A message's life: its states and allowed moves (`lifecycle`), the inbox that admits a
delivery once, the unit of work that settles it, rejection of invalid input, group commit,
and what the bus is told to do next (`outcome`)."""
