#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[RSP_ERR__COUNT] = {
    [RSP_OK] = "OK",
    [RSP_ERR_TRUNCATED] = "TRUNCATED",
    [RSP_ERR_TRAILING] = "TRAILING_BYTES",
    [RSP_ERR_LENGTH_OVERRUN] = "LENGTH_OVERRUN",
    [RSP_ERR_NON_MINIMAL] = "NON_MINIMAL_ENCODING",
    [RSP_ERR_INDEFINITE_LENGTH] = "INDEFINITE_LENGTH",
    [RSP_ERR_TOO_DEEP] = "TOO_DEEP",
    [RSP_ERR_TAG_TOO_LONG] = "TAG_TOO_LONG",
    [RSP_ERR_INTEGER_RANGE] = "INTEGER_RANGE",
    [RSP_ERR_UNEXPECTED_TAG] = "UNEXPECTED_TAG",
    [RSP_ERR_MISSING_FIELD] = "MISSING_FIELD",
    [RSP_ERR_BAD_VALUE] = "BAD_VALUE",
    [RSP_ERR_TOO_MANY] = "TOO_MANY_ELEMENTS",
    [RSP_ERR_NO_MEMORY] = "NO_MEMORY",
    [RSP_ERR_BUFFER_TOO_SMALL] = "BUFFER_TOO_SMALL",
    [RSP_ERR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [RSP_ERR_CRYPTO] = "CRYPTO",
    [RSP_ERR_VERIFY] = "VERIFY_FAILED",
    [RSP_ERR_IO] = "IO",
    [RSP_ERR_NOT_FOUND] = "NOT_FOUND",
    [RSP_ERR_STATE] = "BAD_STATE",
    [RSP_ERR_UNSUPPORTED] = "UNSUPPORTED",
};

rsp_status rsp_error_set(rsp_error *err, rsp_status code, uint32_t tag, size_t offset,
                         const char *fmt, ...)
{
    if (err == NULL || err->code != RSP_OK)
        return code;
    err->code = code;
    err->tag = tag;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

void rsp_error_clear(rsp_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof *err);
}

const char *rsp_status_name(rsp_status code)
{
    if ((unsigned)code >= RSP_ERR__COUNT || status_names[code] == NULL)
        return "UNKNOWN";
    return status_names[code];
}

const char *rsp_error_format(const rsp_error *err, char *buf, size_t size)
{
    if (err->tag != 0)
        snprintf(buf, size, "%s at offset %zu (tag %X): %s", rsp_status_name(err->code),
                 err->offset, (unsigned)err->tag, err->message);
    else
        snprintf(buf, size, "%s at offset %zu: %s", rsp_status_name(err->code), err->offset,
                 err->message);
    return buf;
}
