/* vittm-bench: speed figures of the engine on this machine's Vulkan device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "usage: vittm-bench COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  ops       GFLOP/s of GEMM at ViT-B's shapes (M=1024; N×K = 2304×768, 768×768,\n"
    "            3072×768, 768×3072), fp32 and fp16\n"
    "  classmap  time of the class map (logits resized to the frame + argmax) from\n"
    "            32×32 and 16×16 grids to 640×360 and 1920×1080, 150 classes\n"
    "  encoder   latency, FLOPs and GFLOP/s of ViT / ViTTM encoders, and their ratio\n"
    "            (the paper: ViTTM-B ×2.26 faster than ViT-B on ImageNet, 2.4× fewer FLOPs)\n"
    "  segment   per-frame latency, FPS and device memory of segmentation models on\n"
    "            synthetic frames, and their FPS ratio (the paper: ×1.94 on ADE20K)\n"
    "  paper     the ViTTM paper's ADE20K frame-rate protocol (200 frames, 5 not counted,\n"
    "            batch 1, fp32) on ViT-B and ViTTM-B: FPS, latency, GMAC, the measured FPS\n"
    "            ratio beside the GMAC ratio and the paper's ×1.94; JSON and a bar chart\n"
#ifdef VITTM_BENCH_VIDEO
    "  video     segments every frame of a video file with each model in turn: FPS,\n"
    "            latency, device memory, FPS ratio, per-frame plot\n"
#else
    "  video     (not in this build: it needs libvittm-decoder, i.e. FFmpeg's libraries)\n"
#endif
    "\n"
    "Run 'vittm-bench COMMAND --help' for the options of a command.\n"
    "The device is chosen as everywhere in vittm: VITTM_DEVICE=index|name overrides.\n";

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "ops") == 0)
    return bench_ops(argc - 1, argv + 1);
  if (strcmp(argv[1], "classmap") == 0)
    return bench_classmap(argc - 1, argv + 1);
  if (strcmp(argv[1], "encoder") == 0)
    return bench_encoder(argc - 1, argv + 1);
  if (strcmp(argv[1], "segment") == 0)
    return bench_segment(argc - 1, argv + 1);
  if (strcmp(argv[1], "paper") == 0)
    return bench_paper(argc - 1, argv + 1);
  if (strcmp(argv[1], "video") == 0) {
#ifdef VITTM_BENCH_VIDEO
    return bench_video(argc - 1, argv + 1);
#else
    fprintf(stderr, "vittm-bench: this build has no video command (libvittm-decoder was not "
                    "built: install FFmpeg's development libraries and reconfigure)\n");
    return 2;
#endif
  }
  fprintf(stderr, "vittm-bench: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
