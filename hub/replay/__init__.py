"""Replay: find, inspect and safely re-drive messages from the hub's own message store.

`marker` is what a re-driven delivery carries; `plan` decides what a replay does to each
message; `redrive` does it (audited, paced); `history` tells the whole story of one case.
"""
