/* Fuzzes the strict JSON reader libipa uses for ESipa JSON answers (core/json_min.c): any text
 * is validated or rejected without a crash; in validated text every member the IPA looks up
 * and every array item can be walked and decoded, and a string written back reads back the
 * same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_min.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
    "header",
    "functionExecutionStatus",
    "status",
    "statusCodeData",
    "eimPackageError",
    "euiccPackageRequest",
    "eimAcknowledgements",
    "transactionId",
    "boundProfilePackage",
    "matchingId",
};

/* Decodes value every way the IPA might; a string must survive a write/read round trip. */
static void exercise(der_view value, unsigned depth)
{
    uint8_t buf[4096], again[8192];
    der_writer w, r, back;
    der_writer_init_fixed(&w, buf, sizeof buf);
    int64_t number;
    bool flag;
    json_min_type type = json_min_type_of(value);
    json_min_int64(value, &number, NULL);
    json_min_bool(value, &flag, NULL);
    if (type == JSON_MIN_STRING && json_min_string(value, &w, NULL) == RSP_OK) {
        der_writer_init_fixed(&r, again, sizeof again);
        json_min_put_string(&r, buf, w.len);
        der_writer_init_fixed(&back, again + r.len, sizeof again - r.len);
        if (der_writer_status(&r) == RSP_OK &&
            (json_min_validate(der_writer_view(&r), 1, NULL) != RSP_OK ||
             json_min_string(der_writer_view(&r), &back, NULL) != RSP_OK || back.len != w.len ||
             memcmp(back.buf, buf, w.len) != 0))
            abort();
        der_writer_init_fixed(&w, buf, sizeof buf);
        json_min_base64(value, &w, NULL);
        der_writer_init_fixed(&w, buf, sizeof buf);
        json_min_hex(value, &w, NULL);
    }
    if (depth == 0)
        return;
    if (type == JSON_MIN_OBJECT) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            der_view member;
            if (json_min_member(value, names[i], &member, NULL) == RSP_OK)
                exercise(member, depth - 1);
        }
    } else if (type == JSON_MIN_ARRAY) {
        size_t pos = 0;
        der_view item;
        while (json_min_array_next(value, &pos, &item))
            exercise(item, depth - 1);
        if (pos != value.len) /* a validated array walks to its end */
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    der_view text = der_view_make(data, size);
    if (json_min_validate(text, 8, NULL) != RSP_OK) {
        /* unvalidated text must still be safe to walk */
        der_view member;
        json_min_member(text, "header", &member, NULL);
        return 0;
    }
    size_t start = 0;
    while (start < size && (data[start] == ' ' || data[start] == '\t' || data[start] == '\n' ||
                            data[start] == '\r'))
        start++;
    exercise(der_view_make(data + start, size - start), 4);
    return 0;
}
