/* Charts written as standalone SVG files, with no dependencies:
 *   svg_plot_write   a line plot: one polyline per series over a shared x axis (the sample
 *                    index), with ticked axes, axis labels, a title and a legend
 *   svg_bars_write   bar charts side by side, each panel with its own y axis, every bar
 *                    labelled with its value */
#ifndef VITTM_BENCH_SVG_PLOT_H
#define VITTM_BENCH_SVG_PLOT_H

#include <stddef.h>

typedef struct svg_series {
  const char *name; /* legend text */
  const double *y;  /* y[i] at x = x0 + i; a negative value (unknown) leaves a gap */
  size_t n;
} svg_series;

typedef struct svg_plot {
  const char *title;
  const char *x_label, *y_label;
  double x0; /* x of each series' first sample */
  const svg_series *series;
  size_t n_series;
} svg_plot;

/* Writes the plot to path; returns 0, or 1 after saying on stderr why it could not. */
int svg_plot_write(const svg_plot *plot, const char *path);

/* One panel of a bar chart: bar i has height values[i] (a negative value: no bar) and the
 * label labels[i] under it; bar i has the same colour in every panel. */
typedef struct svg_bar_panel {
  const char *title; /* above the panel */
  const char *y_label;
  const char *const *labels;
  const double *values;
  size_t n;
} svg_bar_panel;

typedef struct svg_bars {
  const char *title;
  const char *caption; /* lines under the panels, '\n' between them (may be NULL) */
  const svg_bar_panel *panels;
  size_t n_panels;
} svg_bars;

/* Writes the bar chart to path; returns 0, or 1 after saying on stderr why it could not. */
int svg_bars_write(const svg_bars *chart, const char *path);

#endif
