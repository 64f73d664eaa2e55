/* Prometheus text rendering: families, label escaping, cumulative histogram buckets, and the
 * collector registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/metrics.h"

static void test_label_escaping(void **state)
{
    (void)state;
    char labels[64] = "";
    assert_true(metrics_label_append(labels, sizeof labels, "route", "/a"));
    assert_true(metrics_label_append(labels, sizeof labels, "odd", "q\"b\\n\nx"));
    assert_string_equal(labels, "route=\"/a\",odd=\"q\\\"b\\\\n\\nx\"");
    /* Does not fit: refused, buffer unchanged. */
    char small[12] = "";
    assert_true(metrics_label_append(small, sizeof small, "a", "bcd"));
    assert_false(metrics_label_append(small, sizeof small, "e", "fgh"));
    assert_string_equal(small, "a=\"bcd\"");
}

static void test_histogram_rendering(void **state)
{
    (void)state;
    metrics_histogram h;
    memset(&h, 0, sizeof h);
    metrics_histogram_observe_ns(&h, 50000);        /* 50 us -> first bucket */
    metrics_histogram_observe_ns(&h, 100000);       /* exactly the first bound */
    metrics_histogram_observe_ns(&h, 2000000);      /* 2 ms -> le 0.0025 */
    metrics_histogram_observe_ns(&h, 30000000000u); /* 30 s -> +Inf only */
    metrics_text text;
    metrics_text_init(&text);
    metrics_text_family(&text, "t_seconds", "test latency", "histogram");
    metrics_text_histogram(&text, "t_seconds", "route=\"/x\"", &h);
    assert_false(text.failed);
    assert_non_null(strstr(text.data, "# HELP t_seconds test latency\n# TYPE t_seconds "
                                      "histogram\n"));
    assert_non_null(strstr(text.data, "t_seconds_bucket{route=\"/x\",le=\"0.0001\"} 2\n"));
    assert_non_null(strstr(text.data, "t_seconds_bucket{route=\"/x\",le=\"0.001\"} 2\n"));
    assert_non_null(strstr(text.data, "t_seconds_bucket{route=\"/x\",le=\"0.0025\"} 3\n"));
    assert_non_null(strstr(text.data, "t_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"));
    assert_non_null(strstr(text.data, "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text.data, "t_seconds_count{route=\"/x\"} 4\n"));
    assert_non_null(strstr(text.data, "t_seconds_sum{route=\"/x\"} 30.00215\n"));
    metrics_text_free(&text);

    /* Without labels. */
    metrics_text_init(&text);
    metrics_text_histogram(&text, "u", NULL, &h);
    assert_non_null(strstr(text.data, "u_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text.data, "u_count 4\n"));
    metrics_text_free(&text);
}

static void collect_queue(metrics_text *out, void *user)
{
    metrics_gauge *depth = user;
    metrics_text_family(out, "queue_depth", "Items queued", "gauge");
    metrics_text_sample_i64(out, "queue_depth", NULL, metrics_gauge_get(depth));
}

static void collect_counter(metrics_text *out, void *user)
{
    metrics_counter *count = user;
    metrics_text_family(out, "things_total", "Things", "counter");
    metrics_text_sample_u64(out, "things_total", "kind=\"a\"", metrics_counter_get(count));
}

static void test_registry(void **state)
{
    (void)state;
    metrics_registry *registry = metrics_registry_new();
    assert_non_null(registry);
    metrics_gauge depth = {0};
    metrics_counter count = {0};
    metrics_gauge_set(&depth, 5);
    metrics_gauge_add(&depth, -7);
    metrics_counter_add(&count, 3);
    assert_true(metrics_registry_add(registry, collect_queue, &depth));
    assert_true(metrics_registry_add(registry, collect_counter, &count));
    metrics_text text;
    metrics_text_init(&text);
    metrics_registry_render(registry, &text);
    assert_string_equal(text.data, "# HELP queue_depth Items queued\n"
                                   "# TYPE queue_depth gauge\n"
                                   "queue_depth -2\n"
                                   "# HELP things_total Things\n"
                                   "# TYPE things_total counter\n"
                                   "things_total{kind=\"a\"} 3\n");
    metrics_text_free(&text);
    for (int i = 2; i < METRICS_REGISTRY_MAX; i++)
        assert_true(metrics_registry_add(registry, collect_counter, &count));
    assert_false(metrics_registry_add(registry, collect_counter, &count));
    metrics_registry_free(registry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_histogram_rendering),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
