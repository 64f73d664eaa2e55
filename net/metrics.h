/* Counters, gauges and latency histograms rendered in the Prometheus text exposition format
 * (version 0.0.4) for the servers' /metrics routes.
 *
 * Recording is lock-free (relaxed atomics), so hot paths such as an eIM poll pay a few atomic
 * adds. Rendering walks a registry of collectors: each collector appends its families to a
 * metrics_text buffer, so a component keeps its own counters in its own structs and only
 * registers a function that prints them. */
#ifndef RSPKIT_NET_METRICS_H
#define RSPKIT_NET_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    _Atomic uint64_t value;
} metrics_counter;

typedef struct {
    _Atomic int64_t value;
} metrics_gauge;

/* Upper bounds (seconds) of the latency buckets, 100 us to 10 s; a +Inf bucket follows. */
#define METRICS_LATENCY_BUCKETS 16
extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

/* Buckets are stored non-cumulative and summed when rendered, so observe() is one add. */
typedef struct {
    _Atomic uint64_t buckets[METRICS_LATENCY_BUCKETS + 1];
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} metrics_histogram;

static inline void metrics_counter_add(metrics_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}
static inline uint64_t metrics_counter_get(const metrics_counter *c)
{
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}
static inline void metrics_gauge_add(metrics_gauge *g, int64_t n)
{
    atomic_fetch_add_explicit(&g->value, n, memory_order_relaxed);
}
static inline void metrics_gauge_set(metrics_gauge *g, int64_t n)
{
    atomic_store_explicit(&g->value, n, memory_order_relaxed);
}
static inline int64_t metrics_gauge_get(const metrics_gauge *g)
{
    return atomic_load_explicit(&g->value, memory_order_relaxed);
}
void metrics_histogram_observe_ns(metrics_histogram *h, uint64_t nanoseconds);

/* Growable text buffer. On allocation failure `failed` is set and later appends are ignored. */
typedef struct {
    char *data; /* owned, NUL-terminated when len > 0 */
    size_t len;
    size_t capacity;
    bool failed;
} metrics_text;

void metrics_text_init(metrics_text *text);
void metrics_text_free(metrics_text *text);
void metrics_text_append(metrics_text *text, const char *data, size_t len);
void metrics_text_printf(metrics_text *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n"; type is "counter", "gauge" or "histogram". */
void metrics_text_family(metrics_text *text, const char *name, const char *help, const char *type);
/* Appends one label pair name="value" to a label set being built in `labels` (capacity
 * `size`), escaping the value as the format requires; returns false when it does not fit. */
bool metrics_label_append(char *labels, size_t size, const char *name, const char *value);
/* name{labels} value; labels may be NULL or "" for none. */
void metrics_text_sample_u64(metrics_text *text, const char *name, const char *labels,
                             uint64_t value);
void metrics_text_sample_i64(metrics_text *text, const char *name, const char *labels,
                             int64_t value);
void metrics_text_sample_double(metrics_text *text, const char *name, const char *labels,
                                double value);
/* name_bucket{labels,le="..."} (cumulative), name_sum, name_count. */
void metrics_text_histogram(metrics_text *text, const char *name, const char *labels,
                            const metrics_histogram *h);

typedef void (*metrics_collect_fn)(metrics_text *out, void *user);

#define METRICS_REGISTRY_MAX 32

/* A list of collectors; add them at start-up, render from any thread. */
typedef struct metrics_registry metrics_registry;

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *registry);
/* Returns false when the registry is full. `user` must outlive the registry. */
bool metrics_registry_add(metrics_registry *registry, metrics_collect_fn collect, void *user);
/* Runs every collector in registration order. */
void metrics_registry_render(metrics_registry *registry, metrics_text *out);

/* Content type of the rendered text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
