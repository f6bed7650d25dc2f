#!/usr/bin/env python3
"""read_meta.py: how a Python application reads vittm's class maps from a pipeline.

    read_meta.py [--model MODEL] [--frames N] [--top K] [VIDEO]

Runs `videotestsrc num-buffers=N ! videoconvert ! vittmsegment ! appsink` (or, with VIDEO,
`filesrc ! decodebin ! videoconvert ! vittmsegment ! appsink`) and prints, for each frame, the
size of its class map, the inference times and the K most frequent classes by name, with their
share of the map and their palette colour. The map is read through GstVittm-1.0 (GObject
introspection) as a numpy array that views the meta's memory: no copy.

Needs python3-gi, python3-gst-1.0 (GStreamer's overrides: Gst.Buffer.map() as a memoryview),
gir1.2-gst-plugins-base-1.0 and python3-numpy. Installed, GstVittm-1.0.typelib and the plugin
are found on their own; from the build tree:
    GI_TYPELIB_PATH=build/plugins LD_LIBRARY_PATH=build/plugins GST_PLUGIN_PATH=build/plugins \\
        python3 samples/read_meta.py --model MODEL.safetensors
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstVittm", "1.0")
from gi.repository import Gst, GstApp, GstVittm  # noqa: E402,F401 (GstApp: appsink methods)
import numpy as np  # noqa: E402


def ms(t):
    """A GstClockTime in milliseconds, or '?' when unknown."""
    return "?" if t in (Gst.CLOCK_TIME_NONE, 0) else f"{t / 1e6:.1f} ms"


def describe(index, meta, top):
    """One line: the map's size, timings and its `top` most frequent classes."""
    names = meta.get_classes().get_names()
    palette = np.frombuffer(meta.get_classes().get_palette(), np.uint8).reshape(-1, 3)
    with meta.get_class_map().map(Gst.MapFlags.READ) as info:
        # height rows of width ids, stride bytes apart: a view of the meta's own bytes.
        ids = np.ndarray((meta.height, meta.width), np.uint8, info.data,
                         strides=(meta.stride, 1))
        counts = np.bincount(ids.reshape(-1), minlength=256)
        del ids  # the view must not outlive the mapping
    total = meta.width * meta.height
    parts = []
    for c in np.argsort(-counts, kind="stable")[:top]:
        if counts[c] == 0:
            break
        name = names[c] if c < len(names) else "unlabeled"
        colour = "#%02x%02x%02x" % tuple(palette[c]) if c < len(palette) else "-"
        parts.append(f"{name.strip()} {100.0 * counts[c] / total:.1f}% {colour}")
    source = f", reused from frame {meta.frame_index}" if meta.reused else ""
    return (f"frame {index}: {meta.width}x{meta.height} map{source}, "
            f"wall {ms(meta.wall_time)}, gpu {ms(meta.gpu_time)}: " + ", ".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", help="a video file (default: videotestsrc)")
    ap.add_argument("--model", help="vittmsegment's model (default: the element's own)")
    ap.add_argument("--frames", type=int, default=None,
                    help="frames to read (default: 10 of videotestsrc, all of a video)")
    ap.add_argument("--top", type=int, default=3, help="classes to print per frame")
    args = ap.parse_args()

    Gst.init(None)
    if args.video:
        source = "filesrc name=src ! decodebin"
    else:
        source = (f"videotestsrc num-buffers={args.frames or 10} ! "
                  "video/x-raw,width=320,height=240")
    pipeline = Gst.parse_launch(f"{source} ! videoconvert ! vittmsegment name=seg ! "
                                "appsink name=sink sync=false")
    if args.video:
        pipeline.get_by_name("src").set_property("location", args.video)
    if args.model:
        pipeline.get_by_name("seg").set_property("model", args.model)
    sink = pipeline.get_by_name("sink")

    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    frames = with_meta = 0
    error = None
    while args.frames is None or frames < args.frames:
        # An error upstream (no model, no Vulkan device) stops the stream without an EOS:
        # wait for a sample a while at a time and look at the bus in between.
        sample = sink.try_pull_sample(100 * Gst.MSECOND)
        if sample is None:
            error = bus.pop_filtered(Gst.MessageType.ERROR)
            if error or sink.is_eos():
                break
            continue
        meta = GstVittm.buffer_get_vittm_seg_meta(sample.get_buffer())
        if meta is None:
            print(f"frame {frames}: no class map")
        else:
            print(describe(frames, meta, args.top))
            with_meta += 1
        frames += 1

    error = error or bus.pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if error:
        err, debug = error.parse_error()
        print(f"error: {err.message}\n{debug}", file=sys.stderr)
        return 1
    print(f"{frames} frames, {with_meta} with a class map")
    return 0


if __name__ == "__main__":
    sys.exit(main())
