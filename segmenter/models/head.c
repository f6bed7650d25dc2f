#include "models/head.h"

#include <string.h>

static const vittm_head_kind *const kinds[] = {&vittm_uperhead_kind, &vittm_mask_head_kind};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

vittm_status vittm_head_build(vittm_weights *w, const vittm_config *cfg,
                              const vittm_feature *levels, uint32_t n_levels, bool taps,
                              vittm_head *out, vittm_error *err)
{
  *out = (vittm_head){0};
  const char *type;
  vittm_status st = vittm_config_get_string(cfg, "head.type", &type, err);
  if (st)
    return st;
  for (size_t i = 0; i < N_KINDS; i++) {
    if (strcmp(type, kinds[i]->type) == 0) {
      out->kind = kinds[i];
      return kinds[i]->build(w, cfg, levels, n_levels, taps, &out->impl, &out->logits, err);
    }
  }
  char known[128] = "";
  for (size_t i = 0; i < N_KINDS; i++) {
    strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
    strncat(known, kinds[i]->type, sizeof known - strlen(known) - 1);
  }
  return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "model %s: head type \"%s\" is not supported (%s)", cfg->source, type,
                         known);
}

vittm_status vittm_head_record(vittm_cmd *cmd, vittm_head *head, const vittm_feature *levels,
                               vittm_error *err)
{
  return head->kind->record(cmd, head->impl, levels, err);
}

bool vittm_head_tap(const vittm_head *head, const char *name, const vittm_tensor **t,
                    uint32_t *cols)
{
  char tap[64];
  for (uint32_t i = 0; head->kind->tap(head->impl, i, tap, sizeof tap, t, cols); i++)
    if (strcmp(tap, name) == 0)
      return true;
  *t = NULL;
  return false;
}

bool vittm_head_tap_name(const vittm_head *head, uint32_t i, char *name, size_t size)
{
  const vittm_tensor *t;
  uint32_t cols;
  return head->kind->tap(head->impl, i, name, size, &t, &cols);
}

void vittm_head_free(vittm_head *head)
{
  if (head->kind && head->impl)
    head->kind->free(head->impl);
  *head = (vittm_head){0};
}
