/* vittm — checking a converted model on this device against the probe its converter stored.
 *
 * tools/vittm-convert runs the PyTorch reference on a fixed input and stores the input and the
 * reference's outputs at every named tap as probe.* tensors in the model file. Verifying runs the
 * same input through this engine on this device and compares tap by tap in graph order, so a
 * wrong conversion (or a wrong kernel on this device) is named at the first layer it touches,
 * not found later as a bad segmentation.
 *
 * Classification models are checked by an encoder built with taps. Segmentation models run
 * frame → class map through the public segmenter (vittm_segmenter_* as vittmsegment calls it)
 * with the probe input as integer pixels, and every tap of that one run is compared in graph
 * order: `preprocess` (the model input the preprocess shader made), the encoder's, the neck's
 * and head's taps, logits, class map; so a preprocess fault is named at `preprocess`. Where the
 * probe holds a frame probe (probe.frame.*), a frame of another size and aspect goes through
 * the segmenter as RGB, BGRA, NV12 and I420 (BT.601 and BT.709, limited range), and each run's
 * preprocess, logits and class map are compared. Where the probe holds a stress probe
 * (probe.stress.*: a high-contrast input chosen to drive the weights into larger attention
 * logits, smaller LayerNorm input variances and larger GELU inputs), that input runs too and its
 * taps are compared under the same rules, named stress.<tap>. Uses only public types, so the
 * GStreamer element can call it. */
#ifndef VITTM_VERIFY_H
#define VITTM_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "vittm/vittm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Max abs error allowed at a tap, as a fraction of the reference tap's RMS, and the share of
 * class-map pixels (near-ties left out) that must agree. See verify.c for why these values.
 * fp16: where the probe stores the reference's own simulated-fp16 error e of a tap
 * (__metadata__["vittm_probe"], docs/model-format.md), the tap is allowed
 * max(VITTM_VERIFY_FP16_MARGIN × e, VITTM_VERIFY_FP16_FLOOR); taps without one (probes written
 * before it was stored) are allowed VITTM_VERIFY_TOL_FP16. */
#define VITTM_VERIFY_TOL_FP32 1e-4
#define VITTM_VERIFY_TOL_FP16 3e-2
#define VITTM_VERIFY_FP16_MARGIN 4.0
#define VITTM_VERIFY_FP16_FLOOR 2e-3
#define VITTM_VERIFY_MAP_AGREEMENT_FP32 0.999
#define VITTM_VERIFY_MAP_AGREEMENT_FP16 0.99

typedef struct vittm_verify_tap {
  char name[64];
  char probe[64];        /* the probe tensor compared, without "probe." (frames of one colour
                            source in several formats share one) */
  uint64_t count;        /* values compared */
  double max_abs;        /* max |engine - reference| (NaN when the engine gave a NaN) */
  double mean_abs;       /* mean |engine - reference| */
  double bias;           /* mean (engine - reference): a systematic offset shows here */
  double rms;            /* RMS of the reference tap */
  double relative;       /* max_abs / rms */
  double cosine;         /* cosine similarity of engine and reference */
  double fp16_reference; /* the probe's simulated-fp16 error (fraction of RMS), or -1: none */
  double tolerance;      /* the bound this tap was judged against (fraction of RMS) */
  bool passed;
} vittm_verify_tap;

/* A class map against the reference's. */
typedef struct vittm_verify_map {
  uint64_t pixels, compared, equal; /* compared: pixels that are not near-ties */
  double agreement;
  bool passed;
} vittm_verify_map;

/* One frame of the frame probe in one format: its class map against the reference's. */
typedef struct vittm_verify_frame {
  char name[32];    /* e.g. "frame.nv12.bt709" */
  char map_tap[48]; /* its class map's name in the report, e.g. "frame.nv12.bt709.classmap" */
  vittm_verify_map map;
} vittm_verify_frame;

#define VITTM_VERIFY_MAX_FRAMES 8

/* The numeric regimes the reference reached on one probe input, as the probe records them
 * (__metadata__["vittm_probe"] "regimes", docs/model-format.md); NAN where it records none (the
 * model has no such layer, or the probe was written before they were recorded). */
typedef struct vittm_verify_regimes {
  bool recorded;                    /* the probe records this input's regimes */
  double attention_logit_max;       /* max |q·k/√d_h| over every softmax attention head */
  double layernorm_input_var_min;   /* min variance of one LayerNorm input row */
  double layernorm_input_max;       /* max |LayerNorm input|: the pre-norm activations */
  double gelu_input_max;            /* max |GELU input| */
  double batchnorm_running_var_min; /* min BatchNorm running_var (a property of the weights) */
} vittm_verify_regimes;

typedef struct vittm_verify_report {
  bool has_probe;            /* false: nothing was checked ("unverified") */
  vittm_precision precision; /* what ran (never AUTO) */
  char device[256];
  double tolerance;          /* max_abs ≤ tolerance × rms passes, unless per_tap (below) */
  uint32_t n_fp16_reference; /* taps for which the probe stores a simulated-fp16 error */
  bool per_tap;              /* taps judged against their own tolerance (fp16, stored errors) */
  uint32_t n_taps;
  vittm_verify_tap *taps; /* graph order; owned by the report */
  int32_t first_failure;  /* index into taps of the first failing tap, or -1 */
  /* Segmentation models: the class map at the input size and, where the probe holds a
   * non-square frame, slide inference's class map at that frame's size. */
  bool has_class_map, has_slide_map;
  vittm_verify_map map, slide_map;
  double map_required; /* the share of compared pixels that must agree */
  /* The frame probe (absent from probes written before it: has_frame_probe false, nothing of
   * the colour conversion and of resizing another frame size was checked). */
  bool has_frame_probe;
  uint32_t n_frames;
  vittm_verify_frame frames[VITTM_VERIFY_MAX_FRAMES];
  /* The stress probe (probe.stress.*; absent from probes written before it: has_stress_probe
   * false, the file still verifies). Its taps are among taps, named "stress.<tap>". */
  bool has_stress_probe;
  vittm_verify_regimes regimes, stress_regimes; /* the probe's and the stress probe's */
  /* Probe taps this engine does not expose (listed, not failures). */
  uint32_t n_unchecked;
  char unchecked[16][64];
} vittm_verify_report;

/* Runs path's probe on dev at precision (AUTO: as vittm_model_load would choose) and fills
 * report (free it with vittm_verify_report_free). Returns OK whenever the comparison ran, pass
 * or fail: vittm_verify_report_passed and vittm_verify_report_failure. A file without a probe
 * is OK with has_probe false. Errors: the file cannot be loaded or run. */
VITTM_API vittm_status vittm_verify_model(vittm_device *dev, const char *path,
                                          vittm_precision precision, vittm_verify_report *report,
                                          vittm_error *err);
/* Re-judges a report with another tolerance (fraction of RMS, the same for every tap; ≤ 0: the
 * default for its precision, per tap in fp16 where the probe stores fp16 errors); updates
 * each tap's tolerance and passed, per_tap, the class maps' passed (map, slide_map, frames),
 * first_failure. */
VITTM_API void vittm_verify_report_judge(vittm_verify_report *report, double tolerance);
/* Whether every tap and the class map passed. */
VITTM_API bool vittm_verify_report_passed(const vittm_verify_report *report);
/* The first failing tap's name ("classmap", "slide.classmap" or "frame.<format>.classmap" for
 * a class map), or NULL when all passed. */
VITTM_API const char *vittm_verify_report_failure(const vittm_verify_report *report);
/* Frees what the report holds (not the struct); NULL is a no-op. */
VITTM_API void vittm_verify_report_free(vittm_verify_report *report);

#ifdef __cplusplus
}
#endif
#endif
