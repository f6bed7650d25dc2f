#!/usr/bin/env python3
"""check-layering: the include graph and the exported symbols keep the layering of DESIGN.md.

Checks, over the C sources and headers in this tree:
  - no include cycle between files (a header that, through others, includes itself);
  - decoder/ includes nothing from segmenter/, and segmenter/ nothing from decoder/ (the
    decoder knows no model, the engine no FFmpeg); common/ includes neither;
  - with --objects GROUP..., no cycle of calls between the source files of one group: a group
    is a static library (.a) or a directory of object files (an executable's), and foo.c
    depends on bar.c when foo.o uses a symbol bar.o defines, so that each file can be read
    (and tested) knowing only the files below it;
  - with --libs LIB..., every dynamic symbol is defined by one of those shared libraries only.
Prints each fault on its own line and exits 1 when there is one; 0 and a summary otherwise.
"""
import argparse
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE_DIRS = ("common", "segmenter", "decoder", "plugins", "tools", "tests")
FORBIDDEN = {  # a file under the key may not include one under any of the values
    "common": ("segmenter", "decoder", "plugins"),
    "decoder": ("segmenter", "plugins"),
    "segmenter": ("decoder", "plugins"),
}


def sources(root):
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def resolve(root, including, name, search):
    """The tracked file an #include "name" in `including` reads, or None (a system header)."""
    for base in [os.path.dirname(including)] + search:
        path = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, path)):
            return path
    return None


def include_dirs(root):
    """Every include/ directory and the top of each source directory, as meson passes them."""
    dirs = []
    for top in SOURCE_DIRS:
        for dirpath, subdirs, _ in os.walk(os.path.join(root, top)):
            rel = os.path.relpath(dirpath, root)
            if os.path.basename(rel) == "include" or rel.count(os.sep) == 0:
                dirs.append(rel)
    dirs += ["shaders", "shaders/include"]
    return dirs


def find_cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_includes(root):
    faults = []
    search = include_dirs(root)
    graph = {}
    n_files = 0
    for path in sources(root):
        n_files += 1
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        top = path.split(os.sep)[0]
        for name in INCLUDE.findall(text):
            target = resolve(root, path, name, search)
            if target is None:
                continue
            ttop = target.split(os.sep)[0]
            if ttop in FORBIDDEN.get(top, ()):
                faults.append(f"{path}: includes {target}: {top}/ may not include from {ttop}/")
            graph.setdefault(path, set()).add(target)
    for comp in find_cycles(graph):
        faults.append("include cycle between files: " + " <-> ".join(comp))
    return faults, n_files


def object_symbols(group):
    """{object name: (defined, undefined)} of a static library or a directory of objects."""
    if os.path.isdir(group):
        paths = [os.path.join(group, f) for f in sorted(os.listdir(group)) if f.endswith(".o")]
    else:
        paths = [group]
    out = subprocess.run(["nm", "-A"] + paths, check=True, capture_output=True, text=True).stdout
    objs = {}
    for line in out.splitlines():
        parts = line.split(":")  # archive:object:entry, or object:entry
        obj, fields = os.path.basename(parts[-2]), parts[-1].split()
        defined, undefined = objs.setdefault(obj, (set(), set()))
        if len(fields) == 3 and fields[1] in "TDBRV":
            defined.add(fields[2])
        elif len(fields) == 2 and fields[0] == "U":
            undefined.add(fields[1])
    return objs


def check_objects(groups):
    faults, n_objects = [], 0
    for group in groups:
        objs = object_symbols(group)
        n_objects += len(objs)
        owner = {sym: obj for obj, (defined, _) in objs.items() for sym in defined}
        graph = {obj: {owner[s] for s in undefined if s in owner and owner[s] != obj}
                 for obj, (_, undefined) in objs.items()}
        for comp in find_cycles(graph):
            names = [c.replace(".c.o", ".c") for c in comp]
            calls = []
            for a in comp:
                for b in comp:
                    used = sorted(s for s in objs[a][1] if owner.get(s) == b)
                    if a != b and used:
                        calls.append(f"{a[:-2]} uses {b[:-2]}'s {', '.join(used[:3])}")
            faults.append(f"{os.path.basename(group.rstrip('/'))}: call cycle between "
                          + " <-> ".join(names) + " (" + "; ".join(calls) + ")")
    return faults, n_objects


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if len(line.split()) >= 3 and line.split()[1] in "TDBRVWiu"}


def check_symbols(libs):
    faults, owner = [], {}
    for lib in libs:
        for sym in exported(lib):
            if sym.startswith("_") or sym in ("_init", "_fini"):
                continue
            if sym in owner:
                faults.append(f"{sym}: exported by both {os.path.basename(owner[sym])} and "
                              f"{os.path.basename(lib)}")
            else:
                owner[sym] = lib
    return faults, len(owner)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="source tree (default: this script's tree)")
    ap.add_argument("--objects", nargs="*", default=[],
                    help="static libraries or object directories: no call cycle inside each")
    ap.add_argument("--libs", nargs="*", default=[],
                    help="shared libraries whose dynamic symbols must not overlap")
    args = ap.parse_args()
    faults, n_files = check_includes(os.path.abspath(args.root))
    n_syms = n_objects = 0
    if args.objects:
        obj_faults, n_objects = check_objects(args.objects)
        faults += obj_faults
    if args.libs:
        sym_faults, n_syms = check_symbols(args.libs)
        faults += sym_faults
    for f in faults:
        print(f)
    if faults:
        print(f"{len(faults)} layering faults")
        return 1
    print(f"layering ok: {n_files} files, no include cycle, no forbidden include"
          + (f"; {n_objects} objects, no call cycle" if args.objects else "")
          + (f"; {n_syms} symbols over {len(args.libs)} libraries, each exported once"
             if args.libs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
