"""Go durations for the stand-ins (the package's own parser, from the source tree)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tools"))
from knbench_sweep import durations  # noqa: E402

seconds = durations.parse_seconds
