"""khub: Knowledge Hub Search (UNCCD)."""

import os

# Haystack sends anonymous usage telemetry unless told not to; khub runs offline and sends
# nothing anywhere (set HAYSTACK_TELEMETRY_ENABLED=True yourself to allow it).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
