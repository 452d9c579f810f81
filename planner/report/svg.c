/* svg.c: text buffer, escaping, number formatting and the horizontal bar chart of
 * `attnplan report` (see svg.h). Everything drawn is plain inline SVG styled by the
 * report's <style> block (classes below), so the page needs nothing from outside. */
#include "svg.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TITLE_H = 30,     /* space for the chart's heading */
    ROW_H = 21,       /* one bar row */
    BAR_H = 15,
    HEAD_H = 24,      /* a group heading row */
    GAP_H = 8,        /* extra space for gap_before */
    AXIS_H = 44,      /* ticks and axis title */
    DETAIL_H = 15,    /* the detail line under a bar */
    MARK_H = 14,      /* the marker's label, between the heading and the first row */
    RIGHT_W = 280,    /* room right of the plot for values and notes */
};
/* Average glyph widths of the report's sans-serif at 11 px and 10 px: used to decide whether a
 * label fits inside a segment and where a note starts. Slightly generous on purpose. */
#define CHAR_W 6.4
#define SEG_CHAR_W 5.9

void svg_buf_init(svg_buf *b) { memset(b, 0, sizeof *b); }

void svg_buf_free(svg_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(svg_buf *b, size_t extra) {
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)1 << 40)) { b->failed = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) { b->failed = 1; return -1; }
    b->data = p;
    b->cap = cap;
    return 0;
}

void svg_printf(svg_buf *b, const char *fmt, ...) {
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
        b->failed = 1;
        va_end(ap2);
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

void svg_escaped(svg_buf *b, const char *s) {
    if (!s) return;
    for (; *s; s++) {
        switch (*s) {
        case '&': svg_printf(b, "&amp;"); break;
        case '<': svg_printf(b, "&lt;"); break;
        case '>': svg_printf(b, "&gt;"); break;
        case '"': svg_printf(b, "&quot;"); break;
        case '\'': svg_printf(b, "&#39;"); break;
        default:
            /* Control characters have no business in a report (and some are invalid in
             * XML); show them as '?' rather than pass them through. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') {
                svg_printf(b, "?");
            } else {
                if (buf_reserve(b, 1) != 0) return;
                b->data[b->len++] = *s;
                b->data[b->len] = '\0';
            }
        }
    }
}

void svg_fmt_num(double v, char *out, size_t n) {
    if (!isfinite(v)) { snprintf(out, n, "n/a"); return; }
    double a = fabs(v);
    if (a == 0) snprintf(out, n, "0");
    else if (a >= 100) snprintf(out, n, "%.0f", v);
    else if (a >= 10) snprintf(out, n, "%.1f", v);
    else if (a >= 1) snprintf(out, n, "%.2f", v);
    else if (a >= 0.01) snprintf(out, n, "%.3f", v);
    else snprintf(out, n, "%.3g", v);
}

void svg_fmt_si(double v, const char *unit, char *out, size_t n) {
    static const struct { double f; const char *p; } prefixes[] = {
        {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""},
    };
    if (!isfinite(v)) { snprintf(out, n, "n/a"); return; }
    double a = fabs(v);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (a >= prefixes[i].f || i + 1 == sizeof prefixes / sizeof prefixes[0]) {
            char num[32];
            svg_fmt_num(v / prefixes[i].f, num, sizeof num);
            /* "2.40 M tokens/s" but "2.40 MB": a word unit keeps its own space */
            int word = unit && strlen(unit) > 1 && prefixes[i].p[0];
            snprintf(out, n, "%s %s%s%s", num, prefixes[i].p, word ? " " : "", unit ? unit : "");
            return;
        }
    }
}

void svg_fmt_bytes(double v, char *out, size_t n) {
    if (!isfinite(v)) { snprintf(out, n, "n/a"); return; }
    double a = fabs(v);
    if (a >= 1e9) snprintf(out, n, "%.1f GB", v / 1e9);
    else if (a >= 1e6) snprintf(out, n, "%.1f MB", v / 1e6);
    else if (a >= 1e3) snprintf(out, n, "%.1f kB", v / 1e3);
    else snprintf(out, n, "%.0f B", v);
}

const char *svg_time_unit(double s, double *scale) {
    double a = isfinite(s) ? fabs(s) : 0;
    if (a >= 1) { *scale = 1; return "s"; }
    if (a >= 1e-3) { *scale = 1e-3; return "ms"; }
    *scale = 1e-6;
    return "\xc2\xb5s"; /* µs */
}

void svg_fmt_time(double s, char *out, size_t n) {
    if (!isfinite(s)) { snprintf(out, n, "n/a"); return; }
    double scale;
    const char *unit = svg_time_unit(s, &scale);
    char num[32];
    svg_fmt_num(s / scale, num, sizeof num);
    snprintf(out, n, "%s %s", num, unit);
}

void svg_fmt_pct(double fraction, char *out, size_t n) {
    if (!isfinite(fraction)) { snprintf(out, n, "n/a"); return; }
    snprintf(out, n, "%.1f%%", fraction * 100);
}

/* ---- the chart ---- */

static double finite_pos(double v) { return isfinite(v) && v > 0 ? v : 0; }

static double row_total(const svg_row *r) {
    double t = 0;
    for (int i = 0; i < r->n_seg; i++) t += finite_pos(r->seg[i].value);
    return t;
}

/* A round axis maximum and tick step (1, 2 or 5 times a power of ten) covering v. */
static double nice_axis(double v, double *step) {
    if (!(v > 0) || !isfinite(v)) { *step = 1; return 1; }
    double raw = v / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    *step = s * p;
    return ceil(v / *step - 1e-9) * *step;
}

/* White or near-black text, whichever reads on a "#rrggbb" fill. */
static const char *ink_on(const char *color) {
    unsigned r = 0, g = 0, bl = 0;
    if (!color || sscanf(color, "#%2x%2x%2x", &r, &g, &bl) != 3) return "#111";
    double lum = 0.299 * r + 0.587 * g + 0.114 * bl;
    return lum < 150 ? "#fff" : "#111";
}

/* Number of UTF-8 code points (an estimate of glyphs). */
static size_t glyphs(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

/* Appends s escaped, cut to at most max glyphs (with an ellipsis), never inside a UTF-8
 * sequence. The full text goes into a <title> by the caller where it matters. */
static void escaped_fit(svg_buf *b, const char *s, size_t max) {
    if (!s) return;
    if (glyphs(s) <= max || max < 2) { svg_escaped(b, s); return; }
    char tmp[512];
    size_t i = 0, g = 0;
    while (s[i] && i < sizeof tmp - 4) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (g == max - 1) break;
            g++;
        }
        tmp[i] = s[i];
        i++;
    }
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80) i--; /* never cut inside a UTF-8 sequence */
    tmp[i] = '\0';
    svg_escaped(b, tmp);
    svg_printf(b, "\xe2\x80\xa6"); /* … */
}

static int chart_height(const svg_row *rows, int n_rows, int has_axis, int has_marker) {
    int h = TITLE_H + (has_marker ? MARK_H : 0);
    for (int i = 0; i < n_rows; i++)
        h += (rows[i].heading ? HEAD_H : ROW_H) + (rows[i].gap_before ? GAP_H : 0) +
             (rows[i].n_detail > 0 ? DETAIL_H : 0);
    return h + (has_axis ? AXIS_H : 12);
}

static void draw_segments(svg_buf *b, const svg_row *r, double x0, double y, double px_per_unit) {
    double x = x0;
    for (int i = 0; i < r->n_seg; i++) {
        const svg_seg *s = &r->seg[i];
        double w = finite_pos(s->value) * px_per_unit;
        if (w <= 0) continue;
        svg_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"", x, y, w, BAR_H);
        svg_escaped(b, s->color ? s->color : "#4878a8");
        svg_printf(b, "\"%s>", r->muted ? " opacity=\"0.45\"" : "");
        if (s->tip) {
            svg_printf(b, "<title>");
            svg_escaped(b, s->tip);
            svg_printf(b, "</title>");
        }
        svg_printf(b, "</rect>\n");
        if (s->label && w >= glyphs(s->label) * SEG_CHAR_W + 6) {
            svg_printf(b, "<text class=\"seg\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">",
                       x + w / 2, y + BAR_H - 4, ink_on(s->color));
            svg_escaped(b, s->label);
            svg_printf(b, "</text>\n");
        }
        x += w;
    }
}

static void draw_axis(svg_buf *b, const svg_hbar_chart *c, double x0, double plot_w, double y_top,
                      double y, double axis_max, double step) {
    svg_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y, x0 + plot_w, y);
    int ticks = (int)floor(axis_max / step + 0.5);
    for (int i = 0; i <= ticks && i <= 20; i++) {
        double v = i * step, x = x0 + plot_w * v / axis_max;
        char num[32];
        snprintf(num, sizeof num, "%g", v); /* ticks are round numbers: "0.5", "2", "1500" */
        svg_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y_top, x, y);
        svg_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, y + 13, num);
    }
    svg_printf(b, "<text class=\"axt\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x0 + plot_w / 2, y + 32);
    svg_escaped(b, c->axis_title);
    svg_printf(b, "</text>\n");
}

static void draw_row_text(svg_buf *b, const svg_row *r, double label_w, double y) {
    double ty = y + BAR_H - 3.5;
    size_t label_max = (size_t)((label_w - 14) / CHAR_W);
    if (r->sublabel) {
        size_t sub_max = 16, sub_len = glyphs(r->sublabel) < sub_max ? glyphs(r->sublabel) : sub_max;
        svg_printf(b, "<text class=\"lbl%s\" x=\"12\" y=\"%.1f\">", r->emphasis ? " em" : r->muted ? " mut" : "", ty);
        escaped_fit(b, r->label, label_max > sub_len + 3 ? label_max - sub_len - 3 : 4);
        svg_printf(b, "</text>\n<text class=\"sub\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", label_w - 6, ty);
        escaped_fit(b, r->sublabel, sub_max);
        svg_printf(b, "</text>\n");
    } else if (r->label) {
        svg_printf(b, "<text class=\"lbl%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                   r->emphasis ? " em" : r->muted ? " mut" : "", label_w - 6, ty);
        escaped_fit(b, r->label, label_max);
        svg_printf(b, "</text>\n");
    }
    if (r->label && glyphs(r->label) > label_max) { /* the cut label in full on hover */
        svg_printf(b, "<rect class=\"hit\" x=\"0\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"><title>", y, label_w, BAR_H);
        svg_escaped(b, r->label);
        svg_printf(b, "</title></rect>\n");
    }
}

/* "■ weights 0.4 GB  ■ KV cache 5.2 GB ...": each square in its segment's colour. */
static void draw_detail(svg_buf *b, const svg_row *r, double x, double y) {
    svg_printf(b, "<text class=\"det\" x=\"%.1f\" y=\"%.1f\">", x, y + DETAIL_H - 4);
    for (int i = 0; i < r->n_detail; i++) {
        const svg_seg *s = &r->detail[i];
        svg_printf(b, "<tspan%s fill=\"", i ? " dx=\"10\"" : "");
        svg_escaped(b, s->color ? s->color : "#4878a8");
        svg_printf(b, "\">\xe2\x96\xa0</tspan><tspan dx=\"3\">");
        svg_escaped(b, s->label ? s->label : "");
        svg_printf(b, "</tspan>");
    }
    svg_printf(b, "</text>\n");
}

int svg_hbar_chart_write(svg_buf *b, const svg_hbar_chart *c, const svg_row *rows, int n_rows) {
    double width = c->width > 0 ? c->width : 960;
    double label_w = c->label_width > 0 ? c->label_width : 200;
    double plot_w = width - label_w - RIGHT_W;
    int has_axis = c->axis_title != NULL;
    double vmax = finite_pos(c->marker);
    for (int i = 0; i < n_rows; i++) {
        if (rows[i].heading || rows[i].row_max > 0) continue;
        double t = row_total(&rows[i]);
        if (t > vmax) vmax = t;
        if (rows[i].whisker_hi > rows[i].whisker_lo && finite_pos(rows[i].whisker_hi) > vmax)
            vmax = rows[i].whisker_hi;
    }
    double step, axis_max = nice_axis(vmax, &step);
    int has_marker = finite_pos(c->marker) > 0;
    int height = chart_height(rows, n_rows, has_axis, has_marker && c->marker_label);

    svg_printf(b, "<svg id=\"");
    svg_escaped(b, c->id);
    svg_printf(b, "\" class=\"chart\" viewBox=\"0 0 %.0f %d\" width=\"%.0f\" height=\"%d\" role=\"img\">\n",
               width, height, width, height);
    svg_printf(b, "<title>");
    svg_escaped(b, c->title);
    svg_printf(b, "</title>\n<text class=\"ttl\" x=\"12\" y=\"19\">");
    svg_escaped(b, c->title);
    svg_printf(b, "</text>\n");

    double y = TITLE_H, y_top = TITLE_H - 4;
    if (has_marker && c->marker_label) y += MARK_H; /* the marker's label sits in this band */
    /* the grid goes first, under the bars and their values */
    if (has_axis) draw_axis(b, c, label_w, plot_w, y_top, height - AXIS_H + 2, axis_max, step);
    for (int i = 0; i < n_rows; i++) {
        const svg_row *r = &rows[i];
        if (r->gap_before) y += GAP_H;
        if (r->heading) {
            svg_printf(b, "<text class=\"head\" x=\"12\" y=\"%.1f\">", y + HEAD_H - 7);
            svg_escaped(b, r->label);
            svg_printf(b, "</text>\n");
            y += HEAD_H;
            continue;
        }
        if (r->emphasis)
            svg_printf(b, "<rect class=\"hl\" x=\"2\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"/>\n", y - 3, width - 4, ROW_H);
        draw_row_text(b, r, label_w, y);
        double scale_max = r->row_max > 0 ? r->row_max * 1.05 : axis_max;
        double px = plot_w / scale_max, end = label_w + row_total(r) * px;
        draw_segments(b, r, label_w, y, px);
        if (r->whisker_hi > r->whisker_lo && isfinite(r->whisker_lo) && isfinite(r->whisker_hi)) {
            double xa = label_w + finite_pos(r->whisker_lo) * px, xb = label_w + finite_pos(r->whisker_hi) * px;
            double yc = y + BAR_H / 2.0;
            svg_printf(b, "<path class=\"whisk\" d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\"/>\n",
                       xa, yc, xb, xa, yc - 4, yc + 4, xb, yc - 4, yc + 4);
            if (xb > end) end = xb;
        }
        if (r->value_text || r->note) {
            svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", end + 5, y + BAR_H - 3.5);
            if (r->value_text) {
                svg_printf(b, "<tspan class=\"val%s\">", r->muted ? " mut" : "");
                svg_escaped(b, r->value_text);
                svg_printf(b, "</tspan>");
            }
            if (r->note) {
                svg_printf(b, "<tspan class=\"note\" dx=\"6\">");
                svg_escaped(b, r->note);
                svg_printf(b, "</tspan>");
            }
            svg_printf(b, "</text>\n");
        }
        y += ROW_H;
        if (r->n_detail > 0) {
            draw_detail(b, r, label_w, y - 3);
            y += DETAIL_H;
        }
    }
    if (has_marker) {
        double x = label_w + plot_w * c->marker / axis_max;
        double y_line = y_top + (c->marker_label ? MARK_H : 0);
        svg_printf(b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y_line, x, y + 2);
        if (c->marker_label) {
            svg_printf(b, "<text class=\"markt\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y_top + MARK_H - 3);
            svg_escaped(b, c->marker_label);
            svg_printf(b, "</text>\n");
        }
    }
    svg_printf(b, "</svg>\n");
    return b->failed ? -1 : 0;
}

int svg_front_chart_write(svg_buf *b, const svg_front_chart *c, const svg_point *pts, int n) {
    double W = c->width > 0 ? c->width : 960, H = c->height > 0 ? c->height : 480;
    double x0 = 78, x1 = W - 230, y0 = H - 52, y1 = 40; /* plot box; labels to the right of points */
    double xmax = 0, ymax = 0;
    for (int i = 0; i < n; i++) {
        if (finite_pos(pts[i].x) > xmax) xmax = pts[i].x;
        if (finite_pos(pts[i].y) > ymax) ymax = pts[i].y;
    }
    if (c->has_mark) {
        if (finite_pos(c->mark.x) > xmax) xmax = c->mark.x;
        if (finite_pos(c->mark.y) > ymax) ymax = c->mark.y;
    }
    double xs, ys, xa = nice_axis(xmax, &xs), ya = nice_axis(ymax, &ys);
    svg_printf(b, "<svg id=\"");
    svg_escaped(b, c->id);
    svg_printf(b, "\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n<title>", W, H, W,
               H);
    svg_escaped(b, c->title);
    svg_printf(b, "</title>\n<text class=\"ttl\" x=\"12\" y=\"19\">");
    svg_escaped(b, c->title);
    svg_printf(b, "</text>\n");
#define PX(v) (x0 + (x1 - x0) * (v) / xa)
#define PY(v) (y0 - (y0 - y1) * (v) / ya)
    for (int i = 0; i <= 20 && i * xs <= xa + 1e-9 * xa; i++) {
        double v = i * xs;
        svg_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PX(v), y1, PX(v), y0);
        svg_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", PX(v), y0 + 13, v);
    }
    for (int i = 0; i <= 20 && i * ys <= ya + 1e-9 * ya; i++) {
        double v = i * ys;
        svg_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, PY(v), x1, PY(v));
        svg_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0 - 5, PY(v) + 3, v);
    }
    svg_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x1, y0);
    svg_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x0, y1);
    svg_printf(b, "<text class=\"axt\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (x0 + x1) / 2, y0 + 34);
    svg_escaped(b, c->x_title);
    svg_printf(b, "</text>\n<text class=\"axt\" x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">",
               (y0 + y1) / 2, (y0 + y1) / 2);
    svg_escaped(b, c->y_title);
    svg_printf(b, "</text>\n");
    if (n > 1) {
        svg_printf(b, "<polyline fill=\"none\" stroke=\"#4878a8\" stroke-width=\"2\" points=\"");
        for (int i = 0; i < n; i++) svg_printf(b, "%s%.1f,%.1f", i ? " " : "", PX(pts[i].x), PY(pts[i].y));
        svg_printf(b, "\"/>\n");
    }
    /* direct labels where they do not overlap one already drawn (the mark's first); every
     * point keeps its label as hover text */
    enum { MAX_BOXES = 64 };
    double box[MAX_BOXES][4];
    int nb = 0;
    if (c->has_mark) {
        double mx = PX(c->mark.x) + 10, my = PY(c->mark.y) + 16;
        box[nb][0] = mx, box[nb][1] = my - 11, box[nb][2] = mx + 6.4 * (double)glyphs(c->mark.label), box[nb][3] = my + 2;
        nb++;
    }
    for (int i = 0; i < n; i++) {
        double px = PX(pts[i].x), py = PY(pts[i].y);
        svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#4878a8\">", px, py);
        if (pts[i].label) {
            svg_printf(b, "<title>");
            svg_escaped(b, pts[i].label);
            svg_printf(b, "</title>");
        }
        svg_printf(b, "</circle>\n");
        if (!pts[i].label) continue;
        double bx0 = px + 6, by1 = py - 5, bx1 = bx0 + 5.6 * (double)glyphs(pts[i].label), by0 = by1 - 10;
        int free_spot = 1;
        for (int k = 0; k < nb && free_spot; k++)
            if (bx0 < box[k][2] && bx1 > box[k][0] && by0 < box[k][3] && by1 > box[k][1]) free_spot = 0;
        if (!free_spot) continue;
        if (nb < MAX_BOXES) box[nb][0] = bx0, box[nb][1] = by0, box[nb][2] = bx1, box[nb][3] = by1, nb++;
        svg_printf(b, "<text class=\"seg\" x=\"%.1f\" y=\"%.1f\">", bx0, by1);
        svg_escaped(b, pts[i].label);
        svg_printf(b, "</text>\n");
    }
    if (c->has_mark) {
        double mx = PX(c->mark.x), my = PY(c->mark.y);
        svg_printf(b, "<path d=\"M%.1f %.1fl7 7l-7 7l-7 -7z\" fill=\"#d9822b\"/>\n", mx, my - 7);
        svg_printf(b, "<text class=\"lbl em\" x=\"%.1f\" y=\"%.1f\">", mx + 10, my + 16);
        svg_escaped(b, c->mark.label ? c->mark.label : "this plan");
        svg_printf(b, "</text>\n");
    }
#undef PX
#undef PY
    svg_printf(b, "</svg>\n");
    return b->failed ? -1 : 0;
}
