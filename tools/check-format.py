#!/usr/bin/env python3
"""check-format: every C source and header is laid out as its .clang-format says.

Runs `clang-format --dry-run --Werror` over the .c and .h files of the source directories
(plugins/ and tests/plugins/ have GStreamer's layout in their own .clang-format), and checks
what clang-format lets through: no line of those files outside plugins/ and tests/plugins/,
nor of the shaders (shaders/, GLSL), longer than the 100 columns of the project's
.clang-format (clang-format leaves some long comments as they are). Prints the files that
differ and the long lines, and exits 1; `clang-format -i FILE` fixes the layout, long comments
are wrapped by hand. Exits 2 when clang-format is not installed (Debian: apt-get install
clang-format).
"""
import os
import shutil
import subprocess
import sys

DIRS = ("common", "segmenter", "decoder", "plugins", "tools", "tests", "samples")
COLUMNS = 100  # .clang-format's ColumnLimit
GSTREAMER_LAYOUT = ("plugins", os.path.join("tests", "plugins"))


def long_lines(root: str, files: list[str]) -> list[str]:
    """FILE:LINE of every line longer than COLUMNS characters in the project-layout C files of
    `files` and in the shaders."""
    shaders = sorted(os.path.join(d, f) for d, _, names in os.walk(os.path.join(root, "shaders"))
                     for f in names if f.endswith((".comp", ".glsl")))
    checked = [f for f in files
               if not os.path.relpath(f, root).startswith(GSTREAMER_LAYOUT)] + shaders
    found = []
    for f in checked:
        with open(f, encoding="utf-8") as src:
            for n, line in enumerate(src, 1):
                if len(line.rstrip("\n")) > COLUMNS:
                    found.append(f"{os.path.relpath(f, root)}:{n}")
    return found


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
    long = long_lines(root, files)
    for where in long:
        print(f"longer than {COLUMNS} columns: {where}")
    if bad:
        print(f"{len(bad)} of {len(files)} files differ; clang-format -i FILE fixes them")
    if long:
        print(f"{len(long)} lines longer than {COLUMNS} columns; wrap them")
    if bad or long:
        return 1
    print(f"format ok: {len(files)} files, no line longer than {COLUMNS} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
