"""Stand-ins for services beyond the network edge (tests only)."""
