#include "net/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0,
};

void metrics_histogram_observe_ns(metrics_histogram *h, uint64_t nanoseconds)
{
    double seconds = (double)nanoseconds / 1e9;
    size_t bucket = METRICS_LATENCY_BUCKETS;
    for (size_t i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        if (seconds <= metrics_latency_bounds[i]) {
            bucket = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&h->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, nanoseconds, memory_order_relaxed);
}

void metrics_text_init(metrics_text *text)
{
    memset(text, 0, sizeof *text);
}

void metrics_text_free(metrics_text *text)
{
    free(text->data);
    memset(text, 0, sizeof *text);
}

static bool text_reserve(metrics_text *text, size_t extra)
{
    if (text->failed)
        return false;
    if (text->len + extra + 1 <= text->capacity)
        return true;
    size_t capacity = text->capacity ? text->capacity : 1024;
    while (capacity < text->len + extra + 1)
        capacity *= 2;
    char *grown = realloc(text->data, capacity);
    if (grown == NULL) {
        text->failed = true;
        return false;
    }
    text->data = grown;
    text->capacity = capacity;
    return true;
}

void metrics_text_append(metrics_text *text, const char *data, size_t len)
{
    if (!text_reserve(text, len))
        return;
    memcpy(text->data + text->len, data, len);
    text->len += len;
    text->data[text->len] = '\0';
}

void metrics_text_printf(metrics_text *text, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n >= 0 && text_reserve(text, (size_t)n)) {
        vsnprintf(text->data + text->len, (size_t)n + 1, fmt, ap);
        text->len += (size_t)n;
    }
    va_end(ap);
}

void metrics_text_family(metrics_text *text, const char *name, const char *help, const char *type)
{
    metrics_text_printf(text, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Exposition format 0.0.4: label values escape backslash, double quote and newline. */
bool metrics_label_append(char *labels, size_t size, const char *name, const char *value)
{
    size_t len = strnlen(labels, size);
    if (len >= size)
        return false;
    size_t need = (len ? 1 : 0) + strlen(name) + 2;
    for (const char *p = value; *p; p++)
        need += (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
    need += 1; /* closing quote */
    if (len + need + 1 > size)
        return false;
    char *out = labels + len;
    if (len)
        *out++ = ',';
    out += sprintf(out, "%s=\"", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            *out++ = '\\';
            *out++ = *p;
        } else if (*p == '\n') {
            *out++ = '\\';
            *out++ = 'n';
        } else {
            *out++ = *p;
        }
    }
    *out++ = '"';
    *out = '\0';
    return true;
}

static void sample_prefix(metrics_text *text, const char *name, const char *labels)
{
    if (labels != NULL && labels[0] != '\0')
        metrics_text_printf(text, "%s{%s} ", name, labels);
    else
        metrics_text_printf(text, "%s ", name);
}

void metrics_text_sample_u64(metrics_text *text, const char *name, const char *labels,
                             uint64_t value)
{
    sample_prefix(text, name, labels);
    metrics_text_printf(text, "%llu\n", (unsigned long long)value);
}

void metrics_text_sample_i64(metrics_text *text, const char *name, const char *labels,
                             int64_t value)
{
    sample_prefix(text, name, labels);
    metrics_text_printf(text, "%lld\n", (long long)value);
}

void metrics_text_sample_double(metrics_text *text, const char *name, const char *labels,
                                double value)
{
    sample_prefix(text, name, labels);
    metrics_text_printf(text, "%.9g\n", value);
}

void metrics_text_histogram(metrics_text *text, const char *name, const char *labels,
                            const metrics_histogram *h)
{
    const char *sep = (labels != NULL && labels[0] != '\0') ? "," : "";
    const char *set = labels != NULL ? labels : "";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= METRICS_LATENCY_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < METRICS_LATENCY_BUCKETS)
            metrics_text_printf(text, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, set, sep,
                                metrics_latency_bounds[i], (unsigned long long)cumulative);
        else
            metrics_text_printf(text, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, set, sep,
                                (unsigned long long)cumulative);
    }
    /* _count is the +Inf bucket so the two always agree, even while observations race. */
    double sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
    char sample[256];
    snprintf(sample, sizeof sample, "%s_sum", name);
    metrics_text_sample_double(text, sample, labels, sum);
    snprintf(sample, sizeof sample, "%s_count", name);
    metrics_text_sample_u64(text, sample, labels, cumulative);
}

struct metrics_registry {
    pthread_mutex_t lock;
    size_t count;
    struct {
        metrics_collect_fn collect;
        void *user;
    } collectors[METRICS_REGISTRY_MAX];
};

metrics_registry *metrics_registry_new(void)
{
    metrics_registry *registry = calloc(1, sizeof *registry);
    if (registry != NULL)
        pthread_mutex_init(&registry->lock, NULL);
    return registry;
}

void metrics_registry_free(metrics_registry *registry)
{
    if (registry == NULL)
        return;
    pthread_mutex_destroy(&registry->lock);
    free(registry);
}

bool metrics_registry_add(metrics_registry *registry, metrics_collect_fn collect, void *user)
{
    bool added = false;
    pthread_mutex_lock(&registry->lock);
    if (registry->count < METRICS_REGISTRY_MAX) {
        registry->collectors[registry->count].collect = collect;
        registry->collectors[registry->count].user = user;
        registry->count++;
        added = true;
    }
    pthread_mutex_unlock(&registry->lock);
    return added;
}

void metrics_registry_render(metrics_registry *registry, metrics_text *out)
{
    pthread_mutex_lock(&registry->lock);
    for (size_t i = 0; i < registry->count; i++)
        registry->collectors[i].collect(out, registry->collectors[i].user);
    pthread_mutex_unlock(&registry->lock);
}
