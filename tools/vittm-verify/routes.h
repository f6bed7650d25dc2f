/* vittm-verify --all-routes (routes.c). */
#ifndef VITTM_VERIFY_ROUTES_H
#define VITTM_VERIFY_ROUTES_H

#include <stdbool.h>

/* Verifies with each route set of VITTM_ROUTES and each precision (fp16 only when the device
 * has it) by running `self` with args[0..n_args) (the model and options, no --precision),
 * prints the table and returns the worst exit status of the runs (a route the device cannot
 * run does not count). */
int verify_all_routes(const char *self, char **args, int n_args, bool fp16);

#endif
