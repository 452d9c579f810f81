/* svg.h: the drawing layer of `attnplan report`: a growable text buffer with HTML/XML
 * escaping, human number formatting, and one chart kind, the labelled horizontal bar chart
 * (plain, stacked, with a marker line and min-max whiskers), which every chart of the report
 * is an instance of. Horizontal bars keep long labels (strategies, rank lists) readable and
 * leave room to print each value at the end of its bar, so no legend is needed. */
#ifndef ATTN_SVG_H
#define ATTN_SVG_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/* A growable NUL-terminated string. Allocation failure sets `failed` and later appends are
 * dropped, so callers check once at the end instead of after every append. */
typedef struct svg_buf {
    char *data;
    size_t len, cap;
    int failed;
} svg_buf;

void svg_buf_init(svg_buf *b);
void svg_buf_free(svg_buf *b);
void svg_printf(svg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with & < > " ' escaped: safe in HTML text, SVG text and attribute values. */
void svg_escaped(svg_buf *b, const char *s);

/* Human formatting into out (always NUL-terminated; "n/a" for non-finite values):
 * svg_fmt_si(1.58e6, "tokens/s") -> "1.58 M tokens/s"; svg_fmt_bytes(4.2e10) -> "42.0 GB"
 * (decimal, like datasheets); svg_fmt_time(3.5e-4) -> "350 µs"; svg_fmt_pct(0.231) -> "23.1%". */
void svg_fmt_si(double v, const char *unit, char *out, size_t n);
void svg_fmt_bytes(double v, char *out, size_t n);
void svg_fmt_time(double s, char *out, size_t n);
void svg_fmt_pct(double fraction, char *out, size_t n);
/* Three significant digits, no unit ("0.35", "1.58", "1200"). */
void svg_fmt_num(double v, char *out, size_t n);
/* A display unit for times around `s` seconds: sets *scale (seconds per unit) and the name. */
const char *svg_time_unit(double s, double *scale);

/* One segment of a bar. value <= 0 or non-finite: not drawn. */
typedef struct svg_seg {
    double value;
    const char *color;      /* "#rrggbb" */
    const char *label;      /* drawn inside the segment when it fits; NULL none */
    const char *tip;        /* hover text (<title>); NULL none */
} svg_seg;

typedef struct svg_row {
    const char *label;      /* left of the bar (escaped) */
    const char *sublabel;   /* smaller, just before the bar ("predicted", "measured") */
    int n_seg;
    const svg_seg *seg;
    const char *value_text; /* printed at the end of the bar */
    const char *note;       /* printed after value_text, muted */
    int emphasis;           /* bold label and a marker: the plan this report is about */
    int muted;              /* greyed: e.g. a strategy that does not fit */
    int heading;            /* a group heading: label only, spanning the row, no bar */
    double whisker_lo, whisker_hi; /* min-max range drawn over the bar; lo >= hi: none */
    double row_max;         /* > 0: this row is scaled to its own maximum (mixed units) */
    int gap_before;         /* extra space above this row */
    int n_detail;           /* > 0: a second line under the bar naming these segments, each */
    const svg_seg *detail;  /* after a square of its colour (direct labels for narrow segments) */
} svg_row;

typedef struct svg_hbar_chart {
    const char *id;         /* the <svg> id */
    const char *title;      /* <title> of the svg and the heading drawn in it */
    const char *axis_title; /* with the unit, e.g. "prefill throughput (M tokens/s)"; NULL: no axis */
    double marker;          /* > 0: a dashed vertical line at this value (e.g. capacity) */
    const char *marker_label;
    int label_width;        /* px for the left labels; 0: 200 */
    int width;              /* total px; 0: 960 */
} svg_hbar_chart;

/* Appends an inline <svg> for the chart. Returns 0, -1 when the buffer failed. */
int svg_hbar_chart_write(svg_buf *b, const svg_hbar_chart *c, const svg_row *rows, int n_rows);

/* A front: points joined in the order given, each labelled beside it (direct labels, no
 * legend), and one marked point drawn apart (the plan) with its own label. */
typedef struct svg_point {
    double x, y;
    const char *label;      /* beside the point (escaped); NULL none */
} svg_point;

typedef struct svg_front_chart {
    const char *id, *title;
    const char *x_title, *y_title; /* axis titles with units */
    int has_mark;
    svg_point mark;                /* the marked point (has_mark) */
    int width, height;             /* px; 0: 960 x 480 */
} svg_front_chart;

int svg_front_chart_write(svg_buf *b, const svg_front_chart *c, const svg_point *pts, int n);

#ifdef __cplusplus
}
#endif
#endif
