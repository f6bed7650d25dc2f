#!/usr/bin/env python3
"""Render the sample street video: a generated scene, cars driving, people walking, the camera
panning slowly, encoded with the ffmpeg command-line tool (VP9 in WebM, or H.264 in MP4 by the
output's extension).

  render_video.py samples/street.webm                  # 640x360, 12 s at 24 fps, seed 450
  render_video.py out.mp4 --size 854x480 --seconds 20 --seed 3 --labels labels.webm

--labels also writes the true label maps, coloured with ADE20K's palette, as a second video.
The scene is the first seed from --seed on whose layout has a road, traffic, people, trees and
buildings (Scene construction is cheap; only the frames are drawn), as a classic daylight
street (street.Scene(seed, classic=True): no night, weather or roll), so the shipped video
stays what it was.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import _env  # noqa: E402

_env.require("numpy")

import numpy as np  # noqa: E402

import street  # noqa: E402


def pick_scene(seed: int) -> street.Scene:
    """The first seed >= `seed` with a busy street: road with sidewalks, >= 3 moving cars,
    >= 3 people, trees on both sides, far buildings."""
    while True:
        s = street.Scene(seed, classic=True)
        moving = sum(1 for c in s.cars if c["speed"] != 0)
        sides = {np.sign(t["x"] - s.vx) for t in s.trees if t["t"] > 0.15}
        if (s.road and min(s.sw) > 0 and moving >= 3 and len(s.people) >= 3 and
                len(sides) == 2 and len(s.far) >= 4 and s.brightness > 0.8 and
                s.shadows == 0):
            return s
        seed += 1


def encoder_args(path: str, bitrate: str) -> list[str]:
    if path.endswith(".mp4"):
        return ["-c:v", "libx264", "-preset", "slow", "-crf", "26", "-maxrate", bitrate,
                "-bufsize", "2M", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    return ["-c:v", "libvpx-vp9", "-b:v", bitrate, "-crf", "33", "-deadline", "good",
            "-cpu-used", "4", "-row-mt", "1", "-pix_fmt", "yuv420p"]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--size", default="640x360", help="WxH")
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--fps", type=int, default=24)
    p.add_argument("--seed", type=int, default=450)
    p.add_argument("--pan", type=float, default=0.6, help="world units panned over the video")
    p.add_argument("--bitrate", default="1500k")
    p.add_argument("--labels", help="also write the label maps as a video")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    scene = pick_scene(args.seed)
    # Cars wrap around so the traffic never runs out; the camera pans across the road.
    for c in scene.cars:
        c["wrap"] = True
    aspect = w / h
    frames = int(round(args.seconds * args.fps))
    cam0 = scene.vx - aspect / 2 - args.pan / 2
    # The static layers are drawn once, as a panorama the frames are cropped from (the camera
    # only pans); cars, people and trees are drawn per frame, back to front.
    pan_px = int(np.ceil(args.pan / aspect * w)) + 2
    background = scene.background(w + pan_px, h, aspect * (w + pan_px) / w, cam0)
    sinks = []
    outs = [(args.out, False)] + ([(args.labels, True)] if args.labels else [])
    for path, _ in outs:
        cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{h}", "-r", str(args.fps), "-i", "-", "-an",
               *encoder_args(path, args.bitrate), path]
        sinks.append(subprocess.Popen(cmd, stdin=subprocess.PIPE))
    palette = None
    if args.labels:
        import ade20k
        palette = np.array(ade20k.PALETTE, np.uint8)
    start = time.monotonic()
    for i in range(frames):
        t = i / args.fps
        # ease in and out of the pan
        cam = cam0 + args.pan * (0.5 - 0.5 * np.cos(np.pi * i / max(1, frames - 1)))
        img, lab = scene.render(w, h, aspect, cam, t, background=background)
        sinks[0].stdin.write(img.tobytes())
        if palette is not None:
            sinks[1].stdin.write(palette[lab].tobytes())
        if i % args.fps == 0:
            print(f"frame {i}/{frames} ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    rc = 0
    for s in sinks:
        s.stdin.close()
        rc |= s.wait()
    size = os.path.getsize(args.out)
    print(f"{args.out}: {w}x{h}, {frames} frames at {args.fps} fps ({frames / args.fps:.1f} s), "
          f"{size} bytes, seed {scene.seed}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
