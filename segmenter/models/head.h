/* A segmentation head: the neck's levels → per-class logits at the head's resolution. The
 * config's "head.type" picks the kind; each kind is one file (models/uperhead.c,
 * models/mask_head.c) that fills in a vittm_head_kind, so adding a head touches its own file
 * and the table in head.c, nothing else. */
#ifndef VITTM_MODELS_HEAD_H
#define VITTM_MODELS_HEAD_H

#include "config.h"
#include "models/encoder.h"
#include "models/weights.h"

typedef struct vittm_head_kind {
  const char *type; /* the config's head.type */
  /* Loads the head for inputs of the given sizes into a new *impl, and says where its logits
   * are. With `taps`, intermediates that later steps overwrite are copied out to be read. */
  vittm_status (*build)(vittm_weights *w, const vittm_config *cfg, const vittm_feature *levels,
                        uint32_t n_levels, bool taps, void **impl, vittm_feature *logits,
                        vittm_error *err);
  vittm_status (*record)(vittm_cmd *cmd, void *impl, const vittm_feature *levels, vittm_error *err);
  /* The i-th intermediate in graph order (false past the last): its name as the reference
   * names its taps, its tensor (NULL where only a build with taps keeps it) and the columns
   * of the tensor that hold it (*cols = 0: all). */
  bool (*tap)(const void *impl, uint32_t i, char *name, size_t size, const vittm_tensor **t,
              uint32_t *cols);
  void (*free)(void *impl);
} vittm_head_kind;

typedef struct vittm_head {
  const vittm_head_kind *kind;
  void *impl;
  /* (h·w) × classes, written by the recording; its grid is the head's resolution. */
  vittm_feature logits;
} vittm_head;

/* Builds the head that cfg's head.type names; unknown types are refused naming the known. */
vittm_status vittm_head_build(vittm_weights *w, const vittm_config *cfg,
                              const vittm_feature *levels, uint32_t n_levels, bool taps,
                              vittm_head *out, vittm_error *err);
/* Records levels → head->logits. */
vittm_status vittm_head_record(vittm_cmd *cmd, vittm_head *head, const vittm_feature *levels,
                               vittm_error *err);
/* Whether the head has a tap named `name` (logits included); *t is its tensor, NULL where only
 * a build with taps keeps it. */
bool vittm_head_tap(const vittm_head *head, const char *name, const vittm_tensor **t,
                    uint32_t *cols);
/* Writes the i-th tap's name into `name`; false past the last. */
bool vittm_head_tap_name(const vittm_head *head, uint32_t i, char *name, size_t size);
/* Frees what build made; a zeroed head is a no-op. */
void vittm_head_free(vittm_head *head);

extern const vittm_head_kind vittm_uperhead_kind;
extern const vittm_head_kind vittm_mask_head_kind;

#endif
