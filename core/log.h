/* Structured logging: one JSON object per line, e.g.
 *   {"time":"2026-11-27T09:48:33.123Z","level":"info","component":"eim","message":"poll",
 *    "eid":"89049032...","status":200}
 * so that logs can be filtered and aggregated by machines without parsing prose.
 *
 * Thread safety: each line is formatted into a stack buffer and written with one write() (fd
 * output) or under flockfile() (FILE* output), so lines from different threads never
 * interleave. Configure the output and level at start-up, before threads log.
 *
 * Cost when a level is off: the LOG_* macros test one relaxed atomic before evaluating any
 * field, so disabled debug lines cost a load and a compare. libc only: the IPA links it. */
#ifndef RSPKIT_CORE_LOG_H
#define RSPKIT_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    LOG_LEVEL_TRACE = 0,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_OFF
} log_level;

typedef enum {
    LOG_FIELD_NONE = 0, /* placeholder, skipped */
    LOG_FIELD_STRING,
    LOG_FIELD_INT,
    LOG_FIELD_UINT,
    LOG_FIELD_DOUBLE,
    LOG_FIELD_BOOL,
    LOG_FIELD_HEX /* bytes written as an upper-case hex string */
} log_field_type;

typedef struct {
    const char *key;
    log_field_type type;
    union {
        const char *s;
        long long i;
        unsigned long long u;
        double d;
        bool b;
        struct {
            const void *data;
            size_t len;
        } hex;
    } v;
} log_field;

#define LOG_STR(k, val)    ((log_field){.key = (k), .type = LOG_FIELD_STRING, .v.s = (val)})
#define LOG_INT(k, val)    ((log_field){.key = (k), .type = LOG_FIELD_INT, .v.i = (val)})
#define LOG_UINT(k, val)   ((log_field){.key = (k), .type = LOG_FIELD_UINT, .v.u = (val)})
#define LOG_DBL(k, val)    ((log_field){.key = (k), .type = LOG_FIELD_DOUBLE, .v.d = (val)})
#define LOG_BOOL(k, val)   ((log_field){.key = (k), .type = LOG_FIELD_BOOL, .v.b = (val)})
#define LOG_HEX(k, ptr, n) ((log_field){.key = (k), .type = LOG_FIELD_HEX, .v.hex = {(ptr), (n)}})

/* Longest line written; longer lines are cut at a field boundary and get "truncated":true. */
#define LOG_LINE_MAX 4096

/* Default output is stderr at LOG_LEVEL_INFO. */
void log_set_level(log_level level);
log_level log_get_level(void);
/* Subsequent lines go to this stream (not closed by the logger). */
void log_set_output_file(FILE *stream);
/* Subsequent lines go to this descriptor with one write() each (not closed by the logger). */
void log_set_output_fd(int fd);
bool log_enabled(log_level level);
/* "trace", "debug", "info", "warn", "error", "off" (also "warning"); false if unknown. */
bool log_level_parse(const char *name, log_level *out);
const char *log_level_name(log_level level);

/* Writes one line (when level is enabled). component and message must not be NULL; keys
 * with a NULL string value are written as null. */
void log_emit(log_level level, const char *component, const char *message, const log_field *fields,
              size_t field_count);
/* Formats one line into buf (always NUL-terminated, with the trailing '\n'); returns its length.
 * Exposed so tests and other sinks can use the same encoding. */
size_t log_format(char *buf, size_t size, log_level level, const char *component,
                  const char *message, const log_field *fields, size_t field_count);

/* LOG_INFO("eim", "poll served", LOG_STR("eid", eid), LOG_INT("status", 200));
 * The first array element is a placeholder so that a call with no fields is valid C11. */
#define LOG_AT(level, component, ...)                                                              \
    do {                                                                                           \
        if (log_enabled(level))                                                                    \
            log_at_((level), (component), __VA_ARGS__);                                            \
    } while (0)
#define log_at_(level, component, message, ...)                                                    \
    do {                                                                                           \
        const log_field log_fields_[] = {{.key = NULL}, __VA_ARGS__};                              \
        log_emit((level), (component), (message), log_fields_ + 1,                                 \
                 sizeof log_fields_ / sizeof log_fields_[0] - 1);                                  \
    } while (0)
#define LOG_TRACE(component, ...) LOG_AT(LOG_LEVEL_TRACE, component, __VA_ARGS__)
#define LOG_DEBUG(component, ...) LOG_AT(LOG_LEVEL_DEBUG, component, __VA_ARGS__)
#define LOG_INFO(component, ...)  LOG_AT(LOG_LEVEL_INFO, component, __VA_ARGS__)
#define LOG_WARN(component, ...)  LOG_AT(LOG_LEVEL_WARN, component, __VA_ARGS__)
#define LOG_ERROR(component, ...) LOG_AT(LOG_LEVEL_ERROR, component, __VA_ARGS__)

#endif
