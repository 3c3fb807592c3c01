"""Which transformers releases this hf_arith has been tested on, and one line when it runs on a newer one.

transformers ships a minor release about weekly, and a minor has renamed a forward argument before (5.24: the KV
cache, `past_key_values` -> `cache`). CI runs the whole test suite on the newest release the registry serves and on
the floor in `scripts/constraints-floor.txt`; TESTED_UP_TO is the newest minor it passed on.
"""

import sys
from importlib import metadata

TESTED_UP_TO = (5, 25)
_warned = False


def minor_version(version: str) -> tuple[int, int] | None:
    """(major, minor) of a version string such as '5.24.0' or '5.25.0.dev0'; None if it is not of that form."""
    parts = version.split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def warn_if_untested_transformers(stream=None) -> None:
    """One line on stderr, once per process, when the installed transformers is newer than any CI passed on."""
    global _warned
    if _warned:
        return
    try:
        installed = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return
    minor = minor_version(installed)
    if minor is not None and minor > TESTED_UP_TO:
        _warned = True
        tested = ".".join(map(str, TESTED_UP_TO))
        print(f"hf-arith: note: transformers {installed} is newer than the newest release hf_arith was tested on "
              f"({tested}.x); if results look wrong, try pip install 'transformers<{TESTED_UP_TO[0]}."
              f"{TESTED_UP_TO[1] + 1}'", file=stream or sys.stderr)


__all__ = ["TESTED_UP_TO", "minor_version", "warn_if_untested_transformers"]
