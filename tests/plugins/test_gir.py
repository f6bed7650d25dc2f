#!/usr/bin/env python3
"""vittm — GstVittmSegMeta from Python through GObject introspection (suite 'plugin').

Run uninstalled: GI_TYPELIB_PATH and LD_LIBRARY_PATH point at build/plugins (meson sets them).
Builds metas from Python with GstVittm-1.0 and reads them back: sizes, timings, class names,
palette, and the class map as a numpy array that views the meta's own bytes (no copy); then
reads them in a pad probe of a running pipeline.
"""

import sys

INSTALL = ("install python3-gi, python3-gst-1.0, gir1.2-gstreamer-1.0 and python3-numpy "
           "(tools/setup-debian.sh)")

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVittm", "1.0")
    from gi.repository import Gst, GstVittm
    import numpy as np
except (ImportError, ValueError) as e:
    sys.exit(f"FAIL: {e}: {INSTALL}; GstVittm-1.0 is built with -Dintrospection=enabled")
try:
    # GStreamer's PyGObject overrides: Gst.Buffer.map() gives a memoryview over the memory
    # instead of a copy of it in a bytes object.
    from gi.overrides import _gi_gst  # noqa: F401
except ImportError:
    sys.exit("FAIL: GStreamer's Python overrides are missing: " + INSTALL)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def make_meta(w, h, stride, ids, table):
    """A frame buffer carrying a w × h map (rows stride bytes apart)."""
    frame = Gst.Buffer.new_allocate(None, 16, None)
    data = bytearray(stride * h)
    for y in range(h):
        data[y * stride:y * stride + w] = bytes(ids[y])
    meta = GstVittm.buffer_add_vittm_seg_meta(frame, Gst.Buffer.new_wrapped(bytes(data)),
                                              w, h, stride, table)
    return frame, meta


def test_class_table_names_and_palette():
    table = GstVittm.VittmClassTable.new(["sky", "road", "car"], list(range(1, 10)))
    check(table.n_classes == 3, "n_classes")
    check(table.get_names() == ["sky", "road", "car"], f"names: {table.get_names()}")
    palette = np.frombuffer(table.get_palette(), np.uint8).reshape(-1, 3)
    check(palette.shape == (3, 3) and palette[2].tolist() == [7, 8, 9],
          f"palette: {palette.tolist()}")
    check(table.lookup("Road ") == 1, "lookup ignores case and spaces")


def test_meta_fields_and_timings():
    table = GstVittm.VittmClassTable.new(["a", "b"], None)
    frame, meta = make_meta(3, 2, 4, [[0, 1, 0], [1, 1, 0]], table)
    check(meta is not None, "buffer_add_vittm_seg_meta")
    meta.wall_time = 12 * Gst.MSECOND
    meta.frame_index = 7
    got = GstVittm.buffer_get_vittm_seg_meta(frame)
    check(got is not None, "buffer_get_vittm_seg_meta finds the meta")
    check((got.width, got.height, got.stride) == (3, 2, 4),
          f"size {got.width}x{got.height} stride {got.stride}")
    check(got.wall_time == 12 * Gst.MSECOND, "wall_time")
    check(got.gpu_time == Gst.CLOCK_TIME_NONE, "gpu_time unknown by default")
    check(got.frame_index == 7 and not got.reused, "frame_index, reused")
    check(got.get_classes().get_names() == ["a", "b"], "get_classes")
    check(got.classes.n_classes == 2, "classes field")
    check(GstVittm.buffer_get_vittm_seg_meta(Gst.Buffer.new()) is None,
          "a buffer without meta gives None")


def test_class_map_is_viewed_without_a_copy():
    table = GstVittm.VittmClassTable.new(["a", "b", "c"], None)
    ids = [[(x + 2 * y) % 3 for x in range(5)] for y in range(4)]
    frame, meta = make_meta(5, 4, 8, ids, table)
    meta = GstVittm.buffer_get_vittm_seg_meta(frame)
    class_map = meta.get_class_map()
    with class_map.map(Gst.MapFlags.READ) as info:
        check(isinstance(info.data, memoryview), f"map data is {type(info.data)}")
        view = np.ndarray((meta.height, meta.width), np.uint8, info.data,
                          strides=(meta.stride, 1))
        # The view starts at the address the meta itself reads the map from: the meta's
        # bytes, not a copy of them.
        check(view.ctypes.data == meta.class_ids,
              f"view at {view.ctypes.data:#x}, meta map at {meta.class_ids:#x}")
        check(not view.flags.writeable, "the view is read-only")
        check(view.tolist() == ids, f"view {view.tolist()} != {ids}")
        counts = [sum(row.count(c) for row in ids) for c in range(3)]
        check(np.bincount(view.ravel(), minlength=3).tolist() == counts, "histogram")


def test_pad_probe_reads_the_meta():
    """What an application does in a pad probe, on buffers flowing through a pipeline."""
    pipeline = Gst.parse_launch("appsrc name=src format=time ! identity ! fakesink name=sink")
    src = pipeline.get_by_name("src")
    src.set_property("caps", Gst.Caps.from_string(
        "video/x-raw,format=RGB,width=4,height=2,framerate=30/1"))
    seen = []

    def probe(pad, info):
        meta = GstVittm.buffer_get_vittm_seg_meta(info.get_buffer())
        if meta is not None:
            with meta.get_class_map().map(Gst.MapFlags.READ) as m:
                view = np.ndarray((meta.height, meta.width), np.uint8, m.data,
                                  strides=(meta.stride, 1))
                seen.append((meta.get_classes().get_names()[view[1, 2]], meta.frame_index))
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, probe)
    pipeline.set_state(Gst.State.PLAYING)
    table = GstVittm.VittmClassTable.new(["sky", "road", "car"], None)
    for i in range(2):
        frame = Gst.Buffer.new_allocate(None, 4 * 2 * 3, None)
        frame.pts = i * Gst.SECOND // 30
        meta = GstVittm.buffer_add_vittm_seg_meta(
            frame, Gst.Buffer.new_wrapped(bytes([0, 0, 0, 0, 1, 1, 2, 1])), 4, 2, 4, table)
        meta.frame_index = i
        src.emit("push-buffer", frame)
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(10 * Gst.SECOND,
                                                Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    check(msg is not None and msg.type == Gst.MessageType.EOS, "the probe pipeline ran to EOS")
    check(seen == [("car", 0), ("car", 1)], f"the probe saw {seen}")


def main():
    Gst.init(None)
    test_class_table_names_and_palette()
    test_meta_fields_and_timings()
    test_class_map_is_viewed_without_a_copy()
    test_pad_probe_reads_the_meta()
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("ok")


if __name__ == "__main__":
    main()
