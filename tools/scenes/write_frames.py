#!/usr/bin/env python3
"""Write generated frames and their true label maps into one simple binary file, for the C
tests (tests/demo) — no numpy format needed on the C side.

  write_frames.py OUT.bin [--count 8] [--seed 990000] [--size 256x144]
  write_frames.py OUT.bin --per-condition 2 --seed 990000    # 2 day, 2 dusk, 2 night, ...
  write_frames.py OUT.bin --classic                           # daylight streets only

Layout, all integers unsigned 32-bit little-endian:
  "VSCN", version (1), count, width, height,
  then per frame: width*height*3 bytes RGB (row-major, no padding), width*height bytes of
  ADE20K class ids (0-based).
Frames are street.test_sample(seed + i): held out from training (train_demo.py uses seeds
below 900000). With --per-condition N they are the first N seeds from --seed on of each
condition (street.Scene.condition: day, dusk, night, weather, skyline), in that order. With
--classic they are the daylight streets alone (street.Scene(seed, classic=True)).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import _env  # noqa: E402

_env.require("numpy")

import street  # noqa: E402

MAGIC = b"VSCN"
VERSION = 1


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=990_000)
    p.add_argument("--size", default="256x144", help="WxH")
    p.add_argument("--per-condition", type=int, metavar="N",
                   help="N frames of each condition instead of --count consecutive seeds")
    p.add_argument("--classic", action="store_true",
                   help="daylight streets only: no times of day, weather or skylines")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    import ade20k  # the generator's class ids must be ADE20K's (mmseg order, 0-based)
    wrong = {c: n for c, n in street.CLASSES.items() if ade20k.CLASSES[c] != n}
    if wrong:
        raise SystemExit(f"street.CLASSES disagree with ade20k.CLASSES: {wrong}")
    seeds = list(range(args.seed, args.seed + args.count))
    if args.per_condition:
        seeds = []
        if args.classic:
            raise SystemExit("--per-condition and --classic exclude each other")
        for cond in ("day", "dusk", "night", "weather", "skyline"):
            seed = args.seed
            found = []
            while len(found) < args.per_condition:
                if street.Scene(seed).condition == cond:
                    found.append(seed)
                seed += 1
            seeds += found
    with open(args.out + ".tmp", "wb") as f:
        f.write(MAGIC + struct.pack("<4I", VERSION, len(seeds), w, h))
        for seed in seeds:
            img, lab = street.test_sample(seed, w, h, classic=args.classic)
            f.write(img.tobytes())
            f.write(lab.tobytes())
    os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
