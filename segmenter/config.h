/* vittm — reading the model config (the JSON in a model file's __metadata__["vittm"]).
 *
 * Model builders read every size from the config (DESIGN.md §4: no hard-coded ViT-B sizes),
 * so each read is one call that either yields a checked value or fails with a message such
 * as "model m.safetensors: config key encoder.depth is missing".
 *
 * Keys are paths: object keys joined by '.', array items as [i], e.g. "neck.stages[1].kind"
 * (keys containing '.' or '[' cannot be named). A view (vittm_config) looks at one object or
 * array of the tree and remembers where it is, so a builder can hand a part of the config to
 * a sub-builder and messages still show the full path. Views borrow the tree: they are valid
 * while the model file is open. */
#ifndef VITTM_CONFIG_H
#define VITTM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vittm/error.h"

typedef struct vittm_config {
  const cJSON *json;  /* the object or array looked in */
  const char *source; /* the model file's path, for messages (may be NULL); not owned */
  char where[128];    /* path of json from the root, "" at the root */
} vittm_config;

/* A view of a whole config; source names it in messages (the model file's path). */
vittm_config vittm_config_root(const cJSON *json, const char *source);

/* The node at path, or NULL when it (or any step to it) is absent or path is malformed. */
const cJSON *vittm_config_lookup(const vittm_config *cfg, const char *path);
/* Whether path names a node (a JSON null counts as absent). */
bool vittm_config_has(const vittm_config *cfg, const char *path);

/* Required values: fail with FORMAT when missing or of the wrong type. Integers must be
 * exact (|v| <= 2^53, no fraction). */
vittm_status vittm_config_get_int(const vittm_config *cfg, const char *path, int64_t *out,
                                  vittm_error *err);
vittm_status vittm_config_get_double(const vittm_config *cfg, const char *path, double *out,
                                     vittm_error *err);
/* A required finite number > 0 (an epsilon). */
vittm_status vittm_config_get_positive_double(const vittm_config *cfg, const char *path,
                                              double *out, vittm_error *err);
vittm_status vittm_config_get_bool(const vittm_config *cfg, const char *path, bool *out,
                                   vittm_error *err);
/* *out points into the tree. */
vittm_status vittm_config_get_string(const vittm_config *cfg, const char *path, const char **out,
                                     vittm_error *err);
/* A required integer that must lie in [min, max]. */
vittm_status vittm_config_get_int_in(const vittm_config *cfg, const char *path, int64_t min,
                                     int64_t max, int64_t *out, vittm_error *err);

/* Optional values: fallback when absent (or null); still FORMAT when present but ill-typed. */
vittm_status vittm_config_get_int_or(const vittm_config *cfg, const char *path, int64_t fallback,
                                     int64_t *out, vittm_error *err);
vittm_status vittm_config_get_double_or(const vittm_config *cfg, const char *path, double fallback,
                                        double *out, vittm_error *err);
/* An optional finite number > 0; fallback (not checked) when absent. */
vittm_status vittm_config_get_positive_double_or(const vittm_config *cfg, const char *path,
                                                 double fallback, double *out, vittm_error *err);
vittm_status vittm_config_get_bool_or(const vittm_config *cfg, const char *path, bool fallback,
                                      bool *out, vittm_error *err);
vittm_status vittm_config_get_string_or(const vittm_config *cfg, const char *path,
                                        const char *fallback, const char **out, vittm_error *err);

/* A required array of numbers into dst (capacity entries); *count gets its length. Fails
 * when it is longer than capacity or an item is not a number (an integer for _int_). */
vittm_status vittm_config_get_int_array(const vittm_config *cfg, const char *path, int64_t *dst,
                                        size_t capacity, size_t *count, vittm_error *err);
vittm_status vittm_config_get_double_array(const vittm_config *cfg, const char *path, double *dst,
                                           size_t capacity, size_t *count, vittm_error *err);

/* A view of the object at path (required). */
vittm_status vittm_config_get_object(const vittm_config *cfg, const char *path, vittm_config *out,
                                     vittm_error *err);
/* A view of the array at path (required) and its length; items are then "[i]". */
vittm_status vittm_config_get_array(const vittm_config *cfg, const char *path, vittm_config *out,
                                    size_t *count, vittm_error *err);

#endif
