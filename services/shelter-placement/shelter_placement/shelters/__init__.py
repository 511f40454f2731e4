"""Shelters: the life cycle planned → consulted → open → closing → closed, capacity and occupancy."""
