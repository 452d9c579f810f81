/* test_svg.c: the drawing layer of `attnplan report` (planner/report/svg.c) on its own: number
 * formatting, escaping, and the bar chart with hostile input: labels longer than their
 * column in multi-byte UTF-8 (cut on a character boundary, whole on hover), markup in
 * labels, non-finite and negative values (never "nan" or "inf" in the SVG, never a bar of
 * negative width), a chart with no rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "svg.h"
#include "../check.h"

static void expect_fmt(const char *got, const char *want) {
    CHECK(!strcmp(got, want), "got '%s', want '%s'", got, want);
}

/* 1 if s is well-formed UTF-8 (no cut sequences). */
static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0) return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80) return 0;
    }
    return 1;
}

static void test_format(void) {
    char s[64];
    svg_fmt_si(1.58e6, "tokens/s", s, sizeof s);
    expect_fmt(s, "1.58 M tokens/s");
    svg_fmt_si(994465, "tokens/s", s, sizeof s);
    expect_fmt(s, "994 k tokens/s");
    svg_fmt_si(12, "tokens/s", s, sizeof s);
    expect_fmt(s, "12.0 tokens/s");
    svg_fmt_bytes(4.2e10, s, sizeof s);
    expect_fmt(s, "42.0 GB");
    svg_fmt_bytes(167.9e6, s, sizeof s);
    expect_fmt(s, "167.9 MB");
    svg_fmt_time(3.5e-4, s, sizeof s);
    expect_fmt(s, "350 \xc2\xb5s");
    svg_fmt_time(0.00268, s, sizeof s);
    expect_fmt(s, "2.68 ms");
    svg_fmt_time(1.287, s, sizeof s);
    expect_fmt(s, "1.29 s");
    svg_fmt_pct(0.231, s, sizeof s);
    expect_fmt(s, "23.1%");
    svg_fmt_time(NAN, s, sizeof s);
    expect_fmt(s, "n/a");
    svg_fmt_si(INFINITY, "tokens/s", s, sizeof s);
    expect_fmt(s, "n/a");
}

static void test_escape(void) {
    svg_buf b;
    svg_buf_init(&b);
    svg_escaped(&b, "<a href='x'>&\"\x01</a>");
    CHECK(!b.failed && !strcmp(b.data, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;?&lt;/a&gt;"), "escaped: %s", b.data);
    svg_buf_free(&b);
}

static void test_chart(void) {
    /* 60 copies of a 2-byte character: far wider than the label column */
    char long_label[256] = "";
    for (int i = 0; i < 60; i++) strcat(long_label, "\xc3\xa9");
    svg_seg segs[3] = {{NAN, "#123456", "nan-seg", NULL}, {-5, "#654321", NULL, NULL}, {2.5, "#4878a8", "ok", "<tip>"}};
    svg_row rows[3] = {
        {.label = long_label, .n_seg = 3, .seg = segs, .value_text = "v<1>", .note = "n&1"},
        {.label = "<b>x</b>", .sublabel = "measured", .n_seg = 1, .seg = &segs[2], .whisker_lo = 1, .whisker_hi = 3},
        {.label = "group", .heading = 1},
    };
    svg_hbar_chart c = {.id = "chart-x", .title = "T <&>", .axis_title = "time (ms)", .marker = 4,
                        .marker_label = "capacity"};
    svg_buf b;
    svg_buf_init(&b);
    CHECK(svg_hbar_chart_write(&b, &c, rows, 3) == 0, "chart failed");
    const char *s = b.data ? b.data : "";
    CHECK(valid_utf8(s), "the SVG is not valid UTF-8");
    CHECK(strstr(s, "\xe2\x80\xa6") != NULL, "the long label is not cut with an ellipsis");
    CHECK(strstr(s, long_label) != NULL, "the long label is not given whole (hover)");
    CHECK(!strstr(s, "nan") && !strstr(s, "inf"), "non-finite numbers in the SVG");
    CHECK(!strstr(s, "width=\"-"), "a negative width");
    CHECK(!strstr(s, "<b>") && strstr(s, "&lt;b&gt;x&lt;/b&gt;"), "label markup not escaped");
    CHECK(strstr(s, "<title>T &lt;&amp;&gt;</title>") != NULL, "title not escaped");
    CHECK(strstr(s, "<title>&lt;tip&gt;</title>") != NULL, "tip not escaped");
    CHECK(strstr(s, "class=\"whisk\"") && strstr(s, "class=\"mark\""), "whisker or marker missing");
    CHECK(strstr(s, ">capacity<") != NULL, "marker label missing");
    svg_buf_free(&b);

    svg_buf_init(&b); /* no rows at all: still a complete, empty chart */
    svg_hbar_chart empty = {.id = "chart-empty", .title = "nothing", .axis_title = "x"};
    CHECK(svg_hbar_chart_write(&b, &empty, NULL, 0) == 0 && strstr(b.data, "</svg>"), "empty chart");
    svg_buf_free(&b);
}

int main(void) {
    test_format();
    test_escape();
    test_chart();
    if (check_failures) {
        fprintf(stderr, "test_svg: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("test_svg: all checks passed\n");
    return 0;
}
