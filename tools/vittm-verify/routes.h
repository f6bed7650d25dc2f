/* vittm-verify --all-routes (routes.c). */
#ifndef VITTM_VERIFY_ROUTES_H
#define VITTM_VERIFY_ROUTES_H

#include "vittm/device.h"

/* Verifies with each route set of VITTM_ROUTES and each precision (fp16 only when dev has
 * it) by running `self` with args[0..n_args) (the model and options, no --precision), prints
 * the table and returns the worst exit status of the runs. A set that gives dev's own routes
 * is not run again, and one dev cannot run does not count; both are said in the table. */
int verify_all_routes(const char *self, char **args, int n_args, const vittm_device *dev);

#endif
