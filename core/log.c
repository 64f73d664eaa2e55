#include "core/log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = LOG_LEVEL_INFO;
/* Either a stream or a descriptor is active; the stream wins when both are set. */
static FILE *_Atomic output_stream;
static _Atomic int output_fd = -1;

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

void log_set_level(log_level level)
{
    if (level >= LOG_LEVEL_TRACE && level <= LOG_LEVEL_OFF)
        atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

log_level log_get_level(void)
{
    return (log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_set_output_file(FILE *stream)
{
    atomic_store(&output_stream, stream);
    atomic_store(&output_fd, -1);
}

void log_set_output_fd(int fd)
{
    atomic_store(&output_fd, fd);
    atomic_store(&output_stream, (FILE *)NULL);
}

bool log_enabled(log_level level)
{
    return (int)level >= atomic_load_explicit(&current_level, memory_order_relaxed) &&
           level < LOG_LEVEL_OFF;
}

const char *log_level_name(log_level level)
{
    if (level < LOG_LEVEL_TRACE || level > LOG_LEVEL_OFF)
        return "unknown";
    return level_names[level];
}

bool log_level_parse(const char *name, log_level *out)
{
    if (name == NULL)
        return false;
    for (int i = LOG_LEVEL_TRACE; i <= LOG_LEVEL_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return true;
    }
    return false;
}

/* Bounded appender: once full, further writes are dropped and `full` is set, so the caller can
 * roll back to the last complete field. */
typedef struct {
    char *buf;
    size_t size; /* usable bytes, excluding room reserved for the line ending */
    size_t len;
    bool full;
} line_buffer;

static void put_bytes(line_buffer *line, const char *data, size_t n)
{
    if (line->full || n > line->size - line->len) {
        line->full = true;
        return;
    }
    memcpy(line->buf + line->len, data, n);
    line->len += n;
}

static void put_text(line_buffer *line, const char *text)
{
    put_bytes(line, text, strlen(text));
}

static void put_format(line_buffer *line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put_format(line_buffer *line, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        line->full = true;
        return;
    }
    put_bytes(line, tmp, (size_t)n);
}

/* Length of a well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return n;
}

/* JSON string with escapes; invalid UTF-8 becomes U+FFFD so every line stays valid JSON. */
static void put_json_string(line_buffer *line, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    put_bytes(line, "\"", 1);
    for (size_t i = 0; i < len && !line->full;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put_bytes(line, esc, 2);
            i++;
        } else if (c == '\n') {
            put_text(line, "\\n");
            i++;
        } else if (c == '\r') {
            put_text(line, "\\r");
            i++;
        } else if (c == '\t') {
            put_text(line, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put_bytes(line, esc, 6);
            i++;
        } else if (c < 0x80) {
            put_bytes(line, (const char *)s + i, 1);
            i++;
        } else {
            size_t n = utf8_sequence_length(s + i, len - i);
            if (n == 0) {
                put_text(line, "\\ufffd");
                i++;
            } else {
                put_bytes(line, (const char *)s + i, n);
                i += n;
            }
        }
    }
    put_bytes(line, "\"", 1);
}

static void put_hex(line_buffer *line, const unsigned char *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    put_bytes(line, "\"", 1);
    for (size_t i = 0; i < len && !line->full; i++) {
        char pair[2] = {hex[data[i] >> 4], hex[data[i] & 15]};
        put_bytes(line, pair, 2);
    }
    put_bytes(line, "\"", 1);
}

static void put_field_value(line_buffer *line, const log_field *field)
{
    switch (field->type) {
    case LOG_FIELD_STRING:
        if (field->v.s == NULL)
            put_text(line, "null");
        else
            put_json_string(line, field->v.s);
        break;
    case LOG_FIELD_INT:
        put_format(line, "%lld", field->v.i);
        break;
    case LOG_FIELD_UINT:
        put_format(line, "%llu", field->v.u);
        break;
    case LOG_FIELD_DOUBLE:
        /* JSON has no NaN or infinity. */
        if (isfinite(field->v.d))
            put_format(line, "%.17g", field->v.d);
        else
            put_text(line, "null");
        break;
    case LOG_FIELD_BOOL:
        put_text(line, field->v.b ? "true" : "false");
        break;
    case LOG_FIELD_HEX:
        if (field->v.hex.data == NULL)
            put_text(line, "null");
        else
            put_hex(line, field->v.hex.data, field->v.hex.len);
        break;
    case LOG_FIELD_NONE:
        break;
    }
}

static void put_time(line_buffer *line)
{
    struct timespec now;
    struct tm utc;
    char text[40];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    put_bytes(line, "\"", 1);
    put_bytes(line, text, n);
    put_format(line, ".%03ldZ\"", now.tv_nsec / 1000000);
}

size_t log_format(char *buf, size_t size, log_level level, const char *component,
                  const char *message, const log_field *fields, size_t field_count)
{
    static const char truncated[] = ",\"truncated\":true";
    /* Room for the truncation marker, the closing brace, the newline and the NUL. */
    size_t reserve = sizeof truncated - 1 + 3;
    if (buf == NULL || size <= reserve + 64)
        return 0;
    line_buffer line = {buf, size - reserve, 0, false};
    put_text(&line, "{\"time\":");
    put_time(&line);
    put_text(&line, ",\"level\":\"");
    put_text(&line, log_level_name(level));
    put_text(&line, "\",\"component\":");
    put_json_string(&line, component ? component : "");
    put_text(&line, ",\"message\":");
    put_json_string(&line, message ? message : "");
    size_t complete = line.full ? 0 : line.len;
    for (size_t i = 0; i < field_count && !line.full; i++) {
        if (fields[i].type == LOG_FIELD_NONE || fields[i].key == NULL)
            continue;
        put_bytes(&line, ",", 1);
        put_json_string(&line, fields[i].key);
        put_bytes(&line, ":", 1);
        put_field_value(&line, &fields[i]);
        if (!line.full)
            complete = line.len;
    }
    if (line.full) {
        if (complete == 0) {
            /* Even the fixed part did not fit: keep a minimal valid object. */
            line.len = 0;
            line.full = false;
            put_text(&line, "{\"level\":\"");
            put_text(&line, log_level_name(level));
            put_text(&line, "\"");
            complete = line.len;
        }
        line.len = complete;
        memcpy(buf + line.len, truncated, sizeof truncated - 1);
        line.len += sizeof truncated - 1;
    }
    buf[line.len++] = '}';
    buf[line.len++] = '\n';
    buf[line.len] = '\0';
    return line.len;
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

void log_emit(log_level level, const char *component, const char *message, const log_field *fields,
              size_t field_count)
{
    if (!log_enabled(level))
        return;
    char buf[LOG_LINE_MAX];
    size_t len = log_format(buf, sizeof buf, level, component, message, fields, field_count);
    FILE *stream = atomic_load(&output_stream);
    int fd = atomic_load(&output_fd);
    if (stream == NULL && fd < 0)
        stream = stderr;
    if (stream != NULL) {
        flockfile(stream);
        fwrite(buf, 1, len, stream);
        fflush(stream);
        funlockfile(stream);
    } else {
        write_all(fd, buf, len);
    }
}
