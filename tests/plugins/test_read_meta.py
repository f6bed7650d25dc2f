#!/usr/bin/env python3
"""vittm — samples/read_meta.py, run uninstalled, against vittmmask (suite 'plugin').

    test_read_meta.py SAMPLE MODEL

Runs the sample on 3 frames of videotestsrc with MODEL and checks its output line by line
against histograms computed here on another path: the same frames through vittmsegment and
vittmmask, whose GRAY8 frames hold the class ids. Then checks that a pipeline error (no model
file) ends the sample with the error's message. GI_TYPELIB_PATH, LD_LIBRARY_PATH and
GST_PLUGIN_PATH point at the build tree (meson sets them).
"""

import re
import subprocess
import sys

INSTALL = ("install python3-gi, python3-gst-1.0, gir1.2-gst-plugins-base-1.0 and "
           "python3-numpy (tools/setup-debian.sh)")

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    gi.require_version("GstVittm", "1.0")
    from gi.repository import Gst, GstVideo, GstVittm
    import numpy as np
    from gi.overrides import _gi_gst  # noqa: F401 (Gst.Buffer.map() as a memoryview)
except (ImportError, ValueError) as e:
    sys.exit(f"FAIL: {e}: {INSTALL}")

FRAMES = 3
TOP = 3


def expected_lines(model):
    """Per frame, what read_meta.py prints after the timings, from vittmmask's masks."""
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={FRAMES} ! video/x-raw,width=320,height=240 ! "
        "videoconvert ! vittmsegment name=seg ! vittmmask ! appsink name=sink sync=false")
    pipeline.get_by_name("seg").set_property("model", model)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    lines = []
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
        buf = sample.get_buffer()
        table = GstVittm.buffer_get_vittm_seg_meta(buf).get_classes()
        names = table.get_names()
        palette = table.get_palette()
        with buf.map(Gst.MapFlags.READ) as m:
            mask = np.ndarray((info.height, info.width), np.uint8, m.data,
                              strides=(info.stride[0], 1))
            counts = np.bincount(mask.reshape(-1), minlength=256)
            del mask
        order = sorted(range(256), key=lambda c: (-counts[c], c))[:TOP]
        parts = []
        for c in order:
            if counts[c] == 0:
                break
            colour = "#%02x%02x%02x" % tuple(palette[3 * c:3 * c + 3])
            parts.append(f"{names[c].strip()} {100.0 * counts[c] / (info.width * info.height):.1f}% "
                         f"{colour}")
        lines.append(", ".join(parts))
    error = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if error:
        sys.exit(f"FAIL: reference pipeline: {error.parse_error()[0].message}")
    return lines


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_read_meta.py SAMPLE MODEL")
    sample, model = sys.argv[1:]
    Gst.init(None)

    run = subprocess.run([sys.executable, sample, "--model", model, "--frames", str(FRAMES),
                          "--top", str(TOP)], capture_output=True, text=True, timeout=120)
    print(run.stdout, end="")
    if run.returncode != 0:
        sys.exit(f"FAIL: read_meta.py exited with {run.returncode}:\n{run.stderr}")
    out = run.stdout.splitlines()

    want = expected_lines(model)
    failures = 0
    if len(want) != FRAMES:
        sys.exit(f"FAIL: the reference pipeline gave {len(want)} frames, want {FRAMES}")
    line_re = re.compile(r"frame (\d+): 320x240 map, wall (\d+\.\d) ms, "
                         r"gpu (\d+\.\d ms|\?): (.*)$")
    frame_lines = [line for line in out if line.startswith("frame ")]
    if len(frame_lines) != FRAMES:
        failures += 1
        print(f"FAIL: {len(frame_lines)} frame lines, want {FRAMES}", file=sys.stderr)
    for i, (line, classes) in enumerate(zip(frame_lines, want)):
        m = line_re.match(line)
        if not m:
            failures += 1
            print(f"FAIL: frame line not as documented: {line!r}", file=sys.stderr)
            continue
        if int(m.group(1)) != i or float(m.group(2)) <= 0:
            failures += 1
            print(f"FAIL: frame index or wall time: {line!r}", file=sys.stderr)
        if m.group(4) != classes:
            failures += 1
            print(f"FAIL: frame {i}: read_meta.py says {m.group(4)!r}, vittmmask's mask "
                  f"{classes!r}", file=sys.stderr)
    if not out or out[-1] != f"{FRAMES} frames, {FRAMES} with a class map":
        failures += 1
        print(f"FAIL: last line {out[-1] if out else None!r}", file=sys.stderr)

    # An error (here: no model file) ends the sample with a message, not a hang.
    run = subprocess.run([sys.executable, sample, "--model", model + ".missing", "--frames",
                          "2"], capture_output=True, text=True, timeout=60)
    if run.returncode != 1 or "not found" not in run.stderr:
        failures += 1
        print(f"FAIL: without a model file: exit {run.returncode}, {run.stderr!r}",
              file=sys.stderr)
    if failures:
        sys.exit(f"{failures} check(s) failed")
    print("ok")


if __name__ == "__main__":
    main()
