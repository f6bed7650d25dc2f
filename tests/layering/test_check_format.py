#!/usr/bin/env python3
"""tools/check-format.py fails where it must: on a tree with a C comment and a GLSL line past
100 columns it exits 1 naming both lines, and on the same tree with them wrapped it exits 0.
A plugin's long line (GStreamer's layout, its own .clang-format) is not counted.

usage: test_check_format.py SOURCE_ROOT
"""
import os
import shutil
import subprocess
import sys
import tempfile


def fail(msg: str) -> None:
    print(f"FAIL: {msg}")
    sys.exit(1)


def write(root: str, rel: str, text: str) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(script: str, root: str) -> tuple[int, str]:
    r = subprocess.run([sys.executable, script, root], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main() -> int:
    src = os.path.abspath(sys.argv[1])
    script = os.path.join(src, "tools", "check-format.py")
    long_comment = "/* " + "x" * 95 + " */\n"  # 101 columns, one word: clang-format keeps it
    long_glsl = "// " + "y" * 98 + "\n"  # 101 columns
    with tempfile.TemporaryDirectory() as root:
        for layout in (".clang-format", os.path.join("plugins", ".clang-format")):
            os.makedirs(os.path.dirname(os.path.join(root, layout)), exist_ok=True)
            shutil.copy(os.path.join(src, layout), os.path.join(root, layout))
        write(root, "segmenter/a.c", "int a(void);\n" + long_comment)
        write(root, "shaders/b.comp", "#version 450\n" + long_glsl)
        # 100 columns, 101 bytes: columns are characters
        write(root, "shaders/include/c.glsl", "// 3×3, " + "z" * 92 + "\n")
        write(root, "plugins/p.c", "int p (void);\n" + long_comment)
        rc, out = run(script, root)
        if rc != 1:
            fail(f"check-format exited {rc} on lines past 100 columns:\n{out}")
        for where in ("segmenter/a.c:2", "shaders/b.comp:2"):
            if f"longer than 100 columns: {where}" not in out:
                fail(f"check-format did not name {where}:\n{out}")
        for spared in ("plugins/p.c", "shaders/include/c.glsl"):
            if spared in out:
                fail(f"check-format counted {spared}, which it must not:\n{out}")
        write(root, "segmenter/a.c", "int a(void);\n/* " + "x" * 94 + " */\n")
        write(root, "shaders/b.comp", "#version 450\n// " + "y" * 97 + "\n")
        rc, out = run(script, root)
        if rc != 0:
            fail(f"check-format exited {rc} on lines of 100 columns:\n{out}")
    print("ok: check-format fails on C and GLSL lines past 100 columns, names them, spares plugins/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
