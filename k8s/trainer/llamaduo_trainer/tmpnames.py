"""Names for files written beside their final path and renamed into place.

Every container runs its entrypoint as pid 1, so two pods writing to one shared volume (a retried Job whose
old pod is still terminating, an adopted step) would pick the same `.tmp-1` name and clobber each other's
half-written file. The pod's hostname (its name in Kubernetes) plus a random part keeps them apart.
"""

from __future__ import annotations

import os
import socket
import uuid


def tmp_name(final: str) -> str:
    """A temporary path next to `final`, unique to this pod and call."""
    return f"{final}.tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
