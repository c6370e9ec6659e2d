"""Garbage collection in a one-shot lab process (``buildcpg-lab``): skip what outlives the run.

A lab run imports dbt and parses the project once, and those objects (hundreds of thousands of
them) live until the process exits. CPython's cycle collector still walks every one of them on each
full collection during the build, and once more while the interpreter shuts down, to find no
garbage: on lab 1's sample about 0.4 s during the run and 0.6 s after the last line was printed
(``tools/bench/bench_lab_runner.py``). ``gc.freeze()`` moves the objects alive at that moment to a
permanent generation that the collector no longer scans.

Only a process that ends with its run may do this: in a long-lived host (a test session, a
scheduler's worker) frozen garbage would stay until it exits. So nothing is frozen unless the
process said it is one-shot (``declare_one_shot``, called by the ``buildcpg-lab`` entry point).
"""

from __future__ import annotations

import atexit
import gc

_one_shot = False


def declare_one_shot() -> None:
    """This process exits after its work: freeze what is alive at exit, so shutdown skips the full scan."""
    global _one_shot
    if not _one_shot:
        _one_shot = True
        atexit.register(gc.freeze)  # atexit runs before the interpreter's final collections


def freeze_long_lived() -> None:
    """After dbt's import or parse: in a one-shot process, later collections skip what exists now."""
    if _one_shot:
        gc.freeze()
