/* vittm-verify: checks a converted model on this machine's Vulkan device, layer by layer,
 * against the PyTorch reference outputs its converter stored in it (probe.* tensors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "vittm/verify.h"

enum { EXIT_PASS = 0, EXIT_MISMATCH = 1, EXIT_ERROR = 2, EXIT_UNVERIFIED = 3, EXIT_INCOMPLETE = 4 };

static const char usage[] =
    "usage: vittm-verify MODEL.safetensors [--precision auto|fp32|fp16] [--device D]\n"
    "                    [--tolerance X] [--all] [--allow-unchecked] [--all-routes]\n"
    "\n"
    "Runs the probe that vittm-convert stored in MODEL (a fixed input and the PyTorch\n"
    "reference's outputs at every named layer) on this device and compares layer by layer,\n"
    "in graph order: max and mean abs error, max error relative to the layer's RMS (what is\n"
    "judged), the error allowed, the mean signed error (a bias), cosine similarity.\n"
    "Segmentation models run frame → class map through the segmenter as vittmsegment does,\n"
    "and every layer of that run is compared, from `preprocess` (the model input the frame\n"
    "gave) to the logits; the class map pixel by pixel (near-ties left out). Where the probe\n"
    "holds a frame probe (probe.frame.*: a 97×61 frame), that frame goes through the\n"
    "segmenter as RGB, BGRA, NV12 and I420 (BT.601 and BT.709, limited range), each run's\n"
    "frame.FORMAT.preprocess, .logits and .classmap compared; a probe without one passes\n"
    "with a note that colour conversion and resizing were not checked. Where the probe also\n"
    "holds a non-square frame (probe.slide.*), it goes through slide inference as\n"
    "vittmsegment runs it, and that class map is compared too. Where the probe holds a\n"
    "stress probe (probe.stress.*: a high-contrast input of saturated colours, 0/255\n"
    "checkers, edges and flat tiles, chosen to drive the weights into larger attention\n"
    "logits and GELU inputs and smaller LayerNorm input variances than the probe input),\n"
    "it runs too and its layers are compared as stress.LAYER under the same rules; the\n"
    "regimes the reference reached on each input are printed (\"stress probe reached:\n"
    "attention logits up to …\"). A probe without one passes with a note that those\n"
    "regimes were not checked.\n"
    "\n"
    "  --precision P   auto (default: fp16 on GPUs that have it, else fp32), fp32 or fp16\n"
    "  --device D      Vulkan device index or name substring (default: VITTM_DEVICE, then\n"
    "                  discrete > integrated > virtual > CPU)\n"
    "  --tolerance X   max abs error allowed at every layer, as a fraction of its RMS\n"
    "                  (default: 1e-4 in fp32; in fp16 per layer, see below)\n"
    "  --all           also print the layers after the first failing one\n"
    "  --allow-unchecked\n"
    "                  pass even when the probe holds layers this engine does not expose\n"
    "  --all-routes    verify once per kernel route (VITTM_ROUTES: register and\n"
    "                  shared-memory tiles, fused and GEMM attention, subgroup and\n"
    "                  workgroup reductions, shuffled and plain register loads, the\n"
    "                  texel and the tiled GEMM for Linear layers, Winograd's\n"
    "                  and the direct deep 3x3 convolutions) and per\n"
    "                  precision, each in a process of its own, and print a route ×\n"
    "                  precision table; so one device checks the kernels other devices\n"
    "                  run. The exit status is the worst route's (one this device cannot\n"
    "                  run is reported, not counted; a set that gives this device's own\n"
    "                  routes is not run again)\n"
    "\n"
    "fp16: the probe stores, per layer, the error e that fp16 storage alone gives the\n"
    "reference (a second reference run with weights, input and every layer's output rounded\n"
    "to fp16, fp32 arithmetic), as a fraction of the layer's RMS; a layer is allowed\n"
    "max(4 × e, 2e-3). A probe without those (written by an older vittm-convert) gets 3e-2\n"
    "for every layer, which the output says.\n"
    "\n"
    "A pass shows that this device computes what the reference computes on the probe's\n"
    "inputs (one scene at the input size, the frame probe's frame per format) with the\n"
    "weights in MODEL; it does not show that those weights or the config are the ones the\n"
    "original checkpoint meant (that is the converter's check against the original code),\n"
    "nor anything about inputs unlike the probe's (other formats: RGBA, BGRx, RGBx,\n"
    "full-range YUV; regimes beyond those the printed lines say the inputs reached).\n"
    "\n"
    "Exit status: 0 every layer matches; 1 a layer does not (the first one is named);\n"
    "2 the model could not be loaded or run; 3 unverified: MODEL has no probe;\n"
    "4 incomplete: every compared layer matches but some of the probe's were not compared\n"
    "(listed; --allow-unchecked makes that a pass). A probe without a frame probe or a\n"
    "stress probe is not incomplete: it passes (0) with a note of what was not checked.\n";

static void print_map(const char *name, const vittm_verify_map *m, double required)
{
  printf("%-26s %llu of %llu pixels equal (%.3f%%; %llu near-ties left out; need %.1f%%)  %s\n",
         name, (unsigned long long)m->equal, (unsigned long long)m->compared, 100 * m->agreement,
         (unsigned long long)(m->pixels - m->compared), 100 * required, m->passed ? "ok" : "FAIL");
}

static void print_tap(const vittm_verify_tap *t)
{
  printf("%-26s %11.3g %11.3g %10.3g %11.2e %9.2e %10.2e %12.9f  %s\n", t->name, t->max_abs,
         t->mean_abs, t->rms, t->relative, t->tolerance, t->rms > 0 ? t->bias / t->rms : t->bias,
         t->cosine, t->passed ? "ok" : "FAIL");
}

/* "attention logits up to 131, LayerNorm input variance down to 8e-04, …": what the reference
 * reached on one probe input, as the probe records it (regimes the model lacks left out). */
static void print_regimes(const char *what, const vittm_verify_regimes *g)
{
  if (!g->recorded)
    return;
  const char *sep = "";
  printf("%s reached:", what);
  if (!isnan(g->attention_logit_max))
    printf("%s attention logits up to %.3g", sep, g->attention_logit_max), sep = ",";
  if (!isnan(g->layernorm_input_var_min))
    printf("%s LayerNorm input variance down to %.2g", sep, g->layernorm_input_var_min), sep = ",";
  if (!isnan(g->layernorm_input_max))
    printf("%s LayerNorm inputs up to %.3g", sep, g->layernorm_input_max), sep = ",";
  if (!isnan(g->gelu_input_max))
    printf("%s GELU inputs up to %.3g", sep, g->gelu_input_max), sep = ",";
  if (!isnan(g->batchnorm_running_var_min))
    printf("%s BN running_var down to %.2g", sep, g->batchnorm_running_var_min), sep = ",";
  printf("%s\n", *sep ? "" : " (no attention, LayerNorm, GELU or BatchNorm)");
}

/* What a layer must meet, in words. */
static void print_rule(const vittm_verify_report *r)
{
  if (r->per_tap) {
    printf("a layer passes when max abs error ≤ max(%g × the probe's simulated-fp16 error, "
           "%.0e) × its RMS (column allowed)",
           VITTM_VERIFY_FP16_MARGIN, VITTM_VERIFY_FP16_FLOOR);
    if (r->n_fp16_reference < r->n_taps)
      printf("; %.0e for the %u layers it stores none for", r->tolerance,
             r->n_taps - r->n_fp16_reference);
    printf("\n");
    return;
  }
  printf("a layer passes when max abs error ≤ %.0e × its RMS", r->tolerance);
  if (r->precision == VITTM_PRECISION_FP16 && !r->n_fp16_reference)
    printf(" (the probe stores no simulated-fp16 errors: one bound for every layer; rewrite it "
           "with vittm-convert for per-layer ones)");
  printf("\n");
}

int main(int argc, char **argv)
{
  const char *path = NULL, *device = NULL;
  vittm_precision precision = VITTM_PRECISION_AUTO;
  double tolerance = 0;
  bool all = false, allow_unchecked = false, all_routes = false;
  char *pass_on[16];
  int n_pass_on = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return EXIT_PASS;
    } else if (strcmp(a, "--precision") == 0 && has_value) {
      const char *p = argv[++i];
      if (strcmp(p, "fp32") == 0)
        precision = VITTM_PRECISION_FP32;
      else if (strcmp(p, "fp16") == 0)
        precision = VITTM_PRECISION_FP16;
      else if (strcmp(p, "auto") != 0) {
        fprintf(stderr, "vittm-verify: --precision %s: expected auto, fp32 or fp16\n", p);
        return EXIT_ERROR;
      }
    } else if (strcmp(a, "--device") == 0 && has_value) {
      device = argv[++i];
    } else if (strcmp(a, "--tolerance") == 0 && has_value) {
      char *end;
      tolerance = strtod(argv[++i], &end);
      if (*end || !(tolerance > 0)) {
        fprintf(stderr, "vittm-verify: --tolerance %s: expected a positive number\n", argv[i]);
        return EXIT_ERROR;
      }
    } else if (strcmp(a, "--all") == 0) {
      all = true;
    } else if (strcmp(a, "--allow-unchecked") == 0) {
      allow_unchecked = true;
    } else if (strcmp(a, "--all-routes") == 0) {
      all_routes = true;
      continue;
    } else if (a[0] == '-' || path) {
      fprintf(stderr, "vittm-verify: unexpected argument %s\n\n%s", a, usage);
      return EXIT_ERROR;
    } else {
      path = a;
    }
  }
  if (!path) {
    fputs(usage, stderr);
    return EXIT_ERROR;
  }
  for (int i = 1; i < argc && all_routes; i++) {
    if (strcmp(argv[i], "--precision") == 0)
      i++; /* every precision is run */
    else if (strcmp(argv[i], "--all-routes") != 0 && n_pass_on < 16)
      pass_on[n_pass_on++] = argv[i];
  }

  vittm_error err = {0};
  vittm_device *dev = NULL;
  vittm_device_options dopts = {.device = device};
  if (vittm_device_open(&dopts, &dev, &err)) {
    fprintf(stderr, "vittm-verify: %s\n", err.message);
    return EXIT_ERROR;
  }
  if (all_routes) {
    int rc = verify_all_routes(argv[0], pass_on, n_pass_on, dev);
    vittm_device_free(dev);
    return rc;
  }
  vittm_verify_report r;
  vittm_status st = vittm_verify_model(dev, path, precision, &r, &err);
  vittm_device_free(dev);
  if (st) {
    fprintf(stderr, "vittm-verify: %s\n", err.message);
    return EXIT_ERROR;
  }
  if (!r.has_probe) {
    printf("unverified: %s has no probe (convert it with vittm-convert without --no-probe)\n",
           path);
    return EXIT_UNVERIFIED;
  }
  if (tolerance > 0)
    vittm_verify_report_judge(&r, tolerance);

  printf("%s on %s, %s: ", path, r.device, r.precision == VITTM_PRECISION_FP16 ? "fp16" : "fp32");
  print_rule(&r);
  printf("%-26s %11s %11s %10s %11s %9s %10s %12s  %s\n", "tap", "max abs err", "mean abs",
         "tap rms", "max/rms", "allowed", "bias/rms", "cosine", "result");
  uint32_t shown = r.first_failure >= 0 && !all ? (uint32_t)r.first_failure + 1 : r.n_taps;
  for (uint32_t i = 0; i < shown; i++)
    print_tap(&r.taps[i]);
  if (r.has_class_map && (r.first_failure < 0 || all))
    print_map("classmap", &r.map, r.map_required);
  for (uint32_t i = 0; i < r.n_frames && (r.first_failure < 0 || all); i++)
    print_map(r.frames[i].map_tap, &r.frames[i].map, r.map_required);
  if (r.has_slide_map && (r.first_failure < 0 || all))
    print_map("slide.classmap", &r.slide_map, r.map_required);
  print_regimes("probe", &r.regimes);
  print_regimes("stress probe", &r.stress_regimes);
  if (r.n_unchecked) {
    printf("not checked (this engine does not expose them):");
    for (uint32_t i = 0; i < r.n_unchecked && i < 16; i++)
      printf(" %s", r.unchecked[i]);
    printf("%s\n", r.n_unchecked > 16 ? " …" : "");
  }

  int rc = EXIT_PASS;
  if (r.first_failure >= 0) {
    const vittm_verify_tap *t = &r.taps[r.first_failure];
    uint32_t later = r.n_taps - shown + (!all ? r.has_class_map + r.has_slide_map + r.n_frames : 0);
    printf("FAIL at tap %s: max abs error %.3g is %.2e × its RMS %.3g (allowed %.2e)", t->name,
           t->max_abs, t->relative, t->rms, t->tolerance);
    if (later)
      printf("; %u later taps not shown (--all shows them)", later);
    printf("\n");
    rc = EXIT_MISMATCH;
  } else if (!vittm_verify_report_passed(&r)) {
    const char *failure = vittm_verify_report_failure(&r);
    const vittm_verify_map *m = r.map.passed ? &r.slide_map : &r.map;
    for (uint32_t i = 0; i < r.n_frames; i++)
      if (strcmp(r.frames[i].map_tap, failure) == 0)
        m = &r.frames[i].map;
    printf("FAIL at tap %s: %.3f%% of pixels agree, %.1f%% needed\n", failure, 100 * m->agreement,
           100 * r.map_required);
    rc = EXIT_MISMATCH;
  } else if (r.n_unchecked && !allow_unchecked) {
    printf("INCOMPLETE: %u taps%s match the reference, but %u of the probe's were not compared "
           "(--allow-unchecked accepts that)\n",
           r.n_taps, r.has_class_map ? " and the class map" : "", r.n_unchecked);
    rc = EXIT_INCOMPLETE;
  } else {
    printf("PASS: %u taps%s%s%s%s match the reference%s\n", r.n_taps,
           r.has_class_map ? " and the class map" : "",
           r.n_frames ? " (and the frame probe's)" : "",
           r.has_stress_probe ? " (and the stress probe's)" : "",
           r.has_slide_map ? " (and slide inference's)" : "",
           r.n_unchecked ? " (some not compared, allowed)" : "");
  }
  if (rc != EXIT_ERROR && r.has_class_map && !r.has_frame_probe)
    printf("note: no frame probe (probe.frame.*; vittm-convert writes one): colour conversion "
           "(BGRA, NV12, I420) and resizing a frame of another size were not checked\n");
  if (rc != EXIT_ERROR && !r.has_stress_probe)
    printf("note: no stress probe (probe.stress.*; vittm-convert writes one): the regimes it "
           "drives the weights into (larger attention logits and GELU inputs, smaller "
           "LayerNorm input variances) were not checked\n");
  vittm_verify_report_free(&r);
  return rc;
}
