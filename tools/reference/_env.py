"""Make the entry scripts run under the interpreter that has numpy and torch.

Debian installs numpy and torch for /usr/bin/python3 only. A pyenv or venv `python3` earlier on
PATH lacks them, so a script started with it re-executes itself under the system interpreter
instead of failing on the first import.
"""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"
_GUARD = "VITTM_REFERENCE_REEXEC"


def require(*modules: str) -> None:
    """Import `modules`; if one is missing, re-exec this script under /usr/bin/python3 once."""
    try:
        for name in modules:
            __import__(name)
    except ModuleNotFoundError as missing:
        usable = os.path.exists(SYSTEM_PYTHON) and os.environ.get(_GUARD) != "1"
        if not usable:
            raise SystemExit(f"{missing}: install python3-numpy and python3-torch "
                             f"(Debian) and run with {SYSTEM_PYTHON}") from missing
        os.environ[_GUARD] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
