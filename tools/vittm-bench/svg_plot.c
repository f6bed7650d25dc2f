/* The SVG charts of vittm-bench: the line plot of video (per-frame latency of each model) and
 * the bar chart of paper (measured FPS beside the paper's). */
#include "svg_plot.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum { WIDTH = 960, HEIGHT = 500, LEFT = 80, RIGHT = 24, TOP = 48, BOTTOM = 60 };

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/* Text as XML character data (model names are the user's). */
static void put_text(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A round tick step (1, 2 or 5 × 10^k) giving about `ticks` intervals over range. */
static double nice_step(double range, int ticks)
{
  double raw = range / ticks, mag = pow(10, floor(log10(raw))), r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

typedef struct frame {
  double x_min, x_max, y_max; /* y_min is 0: latencies */
} frame;

static double px(const frame *fr, double x)
{
  return LEFT + (x - fr->x_min) / (fr->x_max - fr->x_min) * (WIDTH - LEFT - RIGHT);
}

static double py(const frame *fr, double y)
{
  return HEIGHT - BOTTOM - y / fr->y_max * (HEIGHT - TOP - BOTTOM);
}

static void put_axes(FILE *f, const svg_plot *p, const frame *fr)
{
  double ystep = nice_step(fr->y_max, 5), xstep = nice_step(fr->x_max - fr->x_min, 8);
  if (xstep < 1)
    xstep = 1; /* frames are whole */
  fputs("<g font-size=\"12\" fill=\"#333\">\n", f);
  for (double y = 0; y <= fr->y_max + 1e-9 * fr->y_max; y += ystep) {
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT,
            py(fr, y), WIDTH - RIGHT, py(fr, y));
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", LEFT - 6, py(fr, y) + 4,
            y);
  }
  for (double x = ceil(fr->x_min / xstep) * xstep; x <= fr->x_max + 1e-9; x += xstep) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>\n", px(fr, x),
            HEIGHT - BOTTOM, px(fr, x), HEIGHT - BOTTOM + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px(fr, x),
            HEIGHT - BOTTOM + 18, x);
  }
  fprintf(f,
          "<polyline points=\"%d,%d %d,%d %d,%d\" fill=\"none\" stroke=\"#333\"/>\n"
          "</g>\n",
          LEFT, TOP, LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM);
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">",
          (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 16);
  put_text(f, p->x_label);
  fprintf(f,
          "</text>\n<text x=\"18\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 18 %d)\">",
          (TOP + HEIGHT - BOTTOM) / 2, (TOP + HEIGHT - BOTTOM) / 2);
  put_text(f, p->y_label);
  fprintf(f, "</text>\n<text x=\"%d\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">",
          WIDTH / 2);
  put_text(f, p->title);
  fputs("</text>\n", f);
}

static void put_series(FILE *f, const svg_plot *p, const frame *fr, size_t s)
{
  const svg_series *sr = &p->series[s];
  const char *colour = colours[s % (sizeof colours / sizeof *colours)];
  bool pen_down = false;
  fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"", colour);
  for (size_t i = 0; i < sr->n; i++) {
    if (sr->y[i] < 0) {
      pen_down = false;
      continue;
    }
    fprintf(f, "%s%.1f,%.1f ", pen_down ? "L" : "M", px(fr, p->x0 + (double)i), py(fr, sr->y[i]));
    pen_down = true;
  }
  fputs("\"/>\n", f);
  if (sr->n <= 100) /* markers while they stay apart; a lone sample is then still visible */
    for (size_t i = 0; i < sr->n; i++)
      if (sr->y[i] >= 0)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                px(fr, p->x0 + (double)i), py(fr, sr->y[i]), colour);
}

static void put_legend(FILE *f, const svg_plot *p)
{
  size_t longest = 0;
  for (size_t s = 0; s < p->n_series; s++)
    if (p->series[s].name && strlen(p->series[s].name) > longest)
      longest = strlen(p->series[s].name);
  int w = 52 + 7 * (int)(longest < 80 ? longest : 80); /* ~7 px per 12 px character */
  int x = WIDTH - RIGHT - 8 - w, y = TOP + 8, h = 20 * (int)p->n_series + 8;
  fprintf(f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"white\" "
          "fill-opacity=\"0.85\" stroke=\"#999\"/>\n",
          x, y, w, h);
  for (size_t s = 0; s < p->n_series; s++) {
    int ly = y + 18 + 20 * (int)s;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n",
            x + 8, ly - 4, x + 32, ly - 4, colours[s % (sizeof colours / sizeof *colours)]);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">", x + 40, ly);
    put_text(f, p->series[s].name);
    fputs("</text>\n", f);
  }
}

/* A white canvas of WIDTH × HEIGHT; NULL after saying why the file cannot be written. */
static FILE *open_svg(const char *path)
{
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "vittm-bench: cannot write %s\n", path);
    return NULL;
  }
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          WIDTH, HEIGHT, WIDTH, HEIGHT);
  return f;
}

static int close_svg(FILE *f, const char *path)
{
  fputs("</svg>\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "vittm-bench: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

int svg_plot_write(const svg_plot *p, const char *path)
{
  frame fr = {p->x0, p->x0, 0};
  for (size_t s = 0; s < p->n_series; s++) {
    const svg_series *sr = &p->series[s];
    if (sr->n && p->x0 + (double)(sr->n - 1) > fr.x_max)
      fr.x_max = p->x0 + (double)(sr->n - 1);
    for (size_t i = 0; i < sr->n; i++)
      if (sr->y[i] > fr.y_max)
        fr.y_max = sr->y[i];
  }
  if (fr.x_max <= fr.x_min) { /* one sample: a unit-wide axis around it */
    fr.x_min -= 0.5;
    fr.x_max += 0.5;
  }
  /* Headroom, then up to a whole tick so the top gridline bounds the plot. */
  fr.y_max = fr.y_max > 0 ? fr.y_max * 1.08 : 1;
  double step = nice_step(fr.y_max, 5);
  fr.y_max = ceil(fr.y_max / step) * step;

  FILE *f = open_svg(path);
  if (!f)
    return 1;
  put_axes(f, p, &fr);
  for (size_t s = 0; s < p->n_series; s++)
    put_series(f, p, &fr, s);
  put_legend(f, p);
  return close_svg(f, path);
}

enum { PANEL_GAP = 80, PANEL_TOP = TOP + 30 };

/* One panel between x0 and x1: its own y axis from 0, the bars, their values and labels. */
static void put_bar_panel(FILE *f, const svg_bar_panel *p, int x0, int x1)
{
  double y_max = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->values[i] > y_max)
      y_max = p->values[i];
  y_max = y_max > 0 ? y_max * 1.15 : 1; /* room for the value above the tallest bar */
  double step = nice_step(y_max, 5), bottom = HEIGHT - BOTTOM, top = PANEL_TOP;
  y_max = ceil(y_max / step) * step;
  fputs("<g font-size=\"12\" fill=\"#333\">\n", f);
  for (double y = 0; y <= y_max + 1e-9 * y_max; y += step) {
    double yy = bottom - y / y_max * (bottom - top);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, yy, x1,
            yy);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0 - 6, yy + 4, y);
  }
  fprintf(f, "<polyline points=\"%d,%d %d,%.0f %d,%.0f\" fill=\"none\" stroke=\"#333\"/>\n", x0,
          PANEL_TOP, x0, bottom, x1, bottom);
  double slot = (double)(x1 - x0) / (double)(p->n ? p->n : 1);
  for (size_t i = 0; i < p->n; i++) {
    double x = x0 + slot * (double)i + 0.2 * slot, w = 0.6 * slot, cx = x + w / 2;
    if (p->values[i] >= 0) {
      double yy = bottom - p->values[i] / y_max * (bottom - top);
      fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x,
              yy, w, bottom - yy, colours[i % (sizeof colours / sizeof *colours)]);
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>\n", cx, yy - 5,
              p->values[i]);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", cx, bottom + 18);
    put_text(f, p->labels[i]);
    fputs("</text>\n", f);
  }
  fputs("</g>\n", f);
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">", (x0 + x1) / 2,
          PANEL_TOP - 12);
  put_text(f, p->title);
  int ly = (PANEL_TOP + HEIGHT - BOTTOM) / 2, lx = x0 - 52;
  fprintf(f,
          "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 %d %d)\">",
          lx, ly, lx, ly);
  put_text(f, p->y_label);
  fputs("</text>\n", f);
}

int svg_bars_write(const svg_bars *chart, const char *path)
{
  FILE *f = open_svg(path);
  if (!f)
    return 1;
  int n = chart->n_panels ? (int)chart->n_panels : 1;
  int pw = (WIDTH - LEFT - RIGHT - (n - 1) * PANEL_GAP) / n;
  for (int i = 0; i < (int)chart->n_panels; i++) {
    int x0 = LEFT + i * (pw + PANEL_GAP);
    put_bar_panel(f, &chart->panels[i], x0, x0 + pw);
  }
  fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">", WIDTH / 2);
  put_text(f, chart->title);
  fputs("</text>\n", f);
  int lines = 0;
  for (const char *c = chart->caption; c && *c; c++)
    lines += *c == '\n';
  for (const char *line = chart->caption; line && *line; lines--) { /* bottom line last */
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)(n < sizeof text ? n : sizeof text - 1), line);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">", WIDTH / 2,
            HEIGHT - 8 - 16 * lines);
    put_text(f, text);
    fputs("</text>\n", f);
    line = end ? end + 1 : line + n;
  }
  return close_svg(f, path);
}
