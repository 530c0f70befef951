"""Rule catalogue, autofixes, suppression edits and Credo config reading for the built-in rules."""
