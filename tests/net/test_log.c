/* Structured log lines: each is one valid JSON object (checked with jansson), whatever the
 * field values; levels filter; concurrent writers never interleave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"

static json_t *parse_line(const char *line, size_t len)
{
    assert_true(len > 0);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    json_error_t error;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL)
        fail_msg("not JSON (%s): %.*s", error.text, (int)len, line);
    assert_true(json_is_object(root));
    return root;
}

static void test_line_is_valid_json(void **state)
{
    (void)state;
    const uint8_t eid[] = {0x89, 0x04, 0x90, 0x32};
    const log_field fields[] = {
        LOG_STR("text", "quote \" backslash \\ newline \n tab \t bell \a"),
        LOG_STR("utf8", "caf\xc3\xa9"),
        LOG_STR("bad_utf8", "x\xff\xc3y\xed\xa0\x80z"),
        LOG_STR("null", NULL),
        LOG_INT("int", -42),
        LOG_UINT("uint", 4000000000ull),
        LOG_DBL("double", 0.25),
        LOG_DBL("nan", 0.0 / 0.0),
        LOG_BOOL("flag", true),
        LOG_HEX("eid", eid, sizeof eid),
    };
    char line[LOG_LINE_MAX];
    size_t len = log_format(line, sizeof line, LOG_LEVEL_WARN, "eim", "poll \"served\"", fields,
                            sizeof fields / sizeof fields[0]);
    json_t *root = parse_line(line, len);
    assert_string_equal(json_string_value(json_object_get(root, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(root, "component")), "eim");
    assert_string_equal(json_string_value(json_object_get(root, "message")), "poll \"served\"");
    assert_string_equal(json_string_value(json_object_get(root, "text")),
                        "quote \" backslash \\ newline \n tab \t bell \a");
    assert_string_equal(json_string_value(json_object_get(root, "utf8")), "caf\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(root, "bad_utf8")),
                        "x\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
    assert_true(json_is_null(json_object_get(root, "null")));
    assert_int_equal(json_integer_value(json_object_get(root, "int")), -42);
    assert_int_equal(json_integer_value(json_object_get(root, "uint")), 4000000000ll);
    assert_true(json_real_value(json_object_get(root, "double")) == 0.25);
    assert_true(json_is_null(json_object_get(root, "nan")));
    assert_true(json_is_true(json_object_get(root, "flag")));
    assert_string_equal(json_string_value(json_object_get(root, "eid")), "89049032");
    /* ISO 8601 UTC with milliseconds. */
    const char *time_text = json_string_value(json_object_get(root, "time"));
    assert_non_null(time_text);
    assert_int_equal(strlen(time_text), strlen("2026-11-27T09:48:33.123Z"));
    assert_int_equal(time_text[10], 'T');
    assert_int_equal(time_text[23], 'Z');
    json_decref(root);
}

static void test_long_line_is_truncated_but_valid(void **state)
{
    (void)state;
    char *big = malloc(3 * LOG_LINE_MAX);
    assert_non_null(big);
    memset(big, 'a', 3 * LOG_LINE_MAX - 1);
    big[3 * LOG_LINE_MAX - 1] = '\0';
    const log_field fields[] = {LOG_STR("first", "kept"), LOG_STR("big", big)};
    char line[LOG_LINE_MAX];
    size_t len = log_format(line, sizeof line, LOG_LEVEL_INFO, "test", "long", fields, 2);
    assert_true(len < sizeof line);
    json_t *root = parse_line(line, len);
    assert_string_equal(json_string_value(json_object_get(root, "first")), "kept");
    assert_null(json_object_get(root, "big"));
    assert_true(json_is_true(json_object_get(root, "truncated")));
    json_decref(root);

    /* Even an oversized message keeps the line valid. */
    len = log_format(line, sizeof line, LOG_LEVEL_ERROR, "test", big, NULL, 0);
    root = parse_line(line, len);
    assert_string_equal(json_string_value(json_object_get(root, "level")), "error");
    assert_true(json_is_true(json_object_get(root, "truncated")));
    json_decref(root);
    free(big);
}

/* Reads everything written to the descriptor so far. */
static size_t read_all(int fd, char *buf, size_t size)
{
    size_t total = 0;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        ssize_t n = read(fd, buf + total, size - 1 - total);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    buf[total] = '\0';
    return total;
}

static int temp_fd(void)
{
    char path[] = "/tmp/rspkit-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void test_levels_filter(void **state)
{
    (void)state;
    int fd = temp_fd();
    log_set_output_fd(fd);
    log_set_level(LOG_LEVEL_INFO);
    int evaluated = 0;
    /* Disabled: the fields are not even evaluated. */
    LOG_DEBUG("test", "hidden", LOG_INT("n", ++evaluated));
    assert_int_equal(evaluated, 0);
    LOG_INFO("test", "shown", LOG_INT("n", ++evaluated));
    LOG_ERROR("test", "no fields");
    assert_int_equal(evaluated, 1);
    log_set_level(LOG_LEVEL_OFF);
    LOG_ERROR("test", "off");
    assert_false(log_enabled(LOG_LEVEL_ERROR));

    char buf[4096];
    size_t len = read_all(fd, buf, sizeof buf);
    assert_null(strstr(buf, "hidden"));
    assert_null(strstr(buf, "\"off\""));
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    json_decref(parse_line(buf, (size_t)(second - buf) + 1));
    json_decref(parse_line(second + 1, len - (size_t)(second + 1 - buf)));
    assert_non_null(strstr(buf, "\"message\":\"shown\",\"n\":1"));

    log_level level;
    assert_true(log_level_parse("warning", &level));
    assert_int_equal(level, LOG_LEVEL_WARN);
    assert_true(log_level_parse("trace", &level));
    assert_int_equal(level, LOG_LEVEL_TRACE);
    assert_false(log_level_parse("verbose", &level));
    log_set_output_file(stderr);
    log_set_level(LOG_LEVEL_INFO);
    close(fd);
}

enum { THREADS = 4, LINES = 300 };

static void *writer(void *context)
{
    int index = *(int *)context;
    char padding[600];
    memset(padding, 'p', sizeof padding - 1);
    padding[sizeof padding - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        LOG_INFO("thread", "line", LOG_INT("thread", index), LOG_INT("i", i),
                 LOG_STR("padding", padding));
    return NULL;
}

static void test_concurrent_lines_do_not_interleave(void **state)
{
    (void)state;
    int fd = temp_fd();
    log_set_output_fd(fd);
    log_set_level(LOG_LEVEL_INFO);
    pthread_t threads[THREADS];
    int indexes[THREADS];
    for (int t = 0; t < THREADS; t++) {
        indexes[t] = t;
        assert_int_equal(pthread_create(&threads[t], NULL, writer, &indexes[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    log_set_output_file(stderr);

    size_t size = (size_t)THREADS * LINES * 1024;
    char *buf = malloc(size);
    assert_non_null(buf);
    size_t len = read_all(fd, buf, size);
    int count[THREADS] = {0};
    size_t lines = 0;
    for (char *line = buf; line < buf + len;) {
        char *end = memchr(line, '\n', (size_t)(buf + len - line));
        assert_non_null(end);
        json_t *root = parse_line(line, (size_t)(end - line) + 1);
        json_int_t thread = json_integer_value(json_object_get(root, "thread"));
        assert_true(thread >= 0 && thread < THREADS);
        /* Each thread's lines arrive in order. */
        assert_int_equal(json_integer_value(json_object_get(root, "i")), count[thread]);
        count[thread]++;
        json_decref(root);
        lines++;
        line = end + 1;
    }
    assert_int_equal(lines, THREADS * LINES);
    free(buf);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_is_valid_json),
        cmocka_unit_test(test_long_line_is_truncated_but_valid),
        cmocka_unit_test(test_levels_filter),
        cmocka_unit_test(test_concurrent_lines_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
