"""khub: Knowledge Hub Search (UNCCD)."""
