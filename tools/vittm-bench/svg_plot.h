/* A line plot written as a standalone SVG file: one polyline per series over a shared x axis
 * (the sample index), with ticked axes, axis labels, a title and a legend. No dependencies. */
#ifndef VITTM_BENCH_SVG_PLOT_H
#define VITTM_BENCH_SVG_PLOT_H

#include <stddef.h>

typedef struct svg_series {
  const char *name;   /* legend text */
  const double *y;    /* y[i] at x = x0 + i; a negative value (unknown) leaves a gap */
  size_t n;
} svg_series;

typedef struct svg_plot {
  const char *title;
  const char *x_label, *y_label;
  double x0;          /* x of each series' first sample */
  const svg_series *series;
  size_t n_series;
} svg_plot;

/* Writes the plot to path; returns 0, or 1 after saying on stderr why it could not. */
int svg_plot_write(const svg_plot *plot, const char *path);

#endif
