#!/usr/bin/env python3
"""check-format: every C source and header is laid out as its .clang-format says.

Runs `clang-format --dry-run --Werror` over the .c and .h files of the source directories
(plugins/ and tests/plugins/ have GStreamer's layout in their own .clang-format). Prints the
files that differ and exits 1; `clang-format -i FILE` fixes one. Exits 2 when clang-format is
not installed (Debian: apt-get install clang-format).
"""
import os
import shutil
import subprocess
import sys

DIRS = ("common", "segmenter", "decoder", "plugins", "tools", "tests", "samples")


def main() -> int:
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    exe = shutil.which("clang-format")
    if not exe:
        print("check-format: clang-format is not installed (apt-get install clang-format)")
        return 2
    files = sorted(os.path.join(d, f) for top in DIRS
                   for d, _, names in os.walk(os.path.join(root, top))
                   for f in names if f.endswith((".c", ".h")))
    bad = []
    for i in range(0, len(files), 64):
        batch = files[i:i + 64]
        r = subprocess.run([exe, "--dry-run", "--Werror"] + batch, capture_output=True, text=True)
        if r.returncode:
            bad += sorted({line.split(":", 1)[0] for line in r.stderr.splitlines()
                           if line.startswith("/") and ": error:" in line})
    for f in bad:
        print(f"not laid out as .clang-format says: {os.path.relpath(f, root)}")
    if bad:
        print(f"{len(bad)} of {len(files)} files differ; clang-format -i FILE fixes them")
        return 1
    print(f"format ok: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
