"""`hub demo`: a realistic batch through the whole hub on the embedded default."""
