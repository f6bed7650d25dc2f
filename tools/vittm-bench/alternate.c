/* Every model on the same frame in turn, the first one rotating from round to round. */
#include "bench.h"

vittm_status bench_run_rotated(vittm_segmenter *const *segs, const char *const *labels, int n,
                               const vittm_frame *frame, int64_t round, vittm_timings *t,
                               vittm_error *err)
{
  vittm_class_map map;
  for (int k = 0; k < n; k++) {
    int m = (int)((round + k) % n);
    vittm_status st = vittm_segmenter_run(segs[m], frame, &map, &t[m], err);
    if (st)
      return vittm_error_prefix(err, st, "%s, frame %lld", labels[m], (long long)round);
  }
  return VITTM_OK;
}
