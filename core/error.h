/* One error type for the whole tree: a code, a short message, and for decoding the tag and
 * offset where it failed. Bad input is an ordinary return value, never an abort. */
#ifndef RSPKIT_CORE_ERROR_H
#define RSPKIT_CORE_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RSP_OK = 0,
    /* decoding */
    RSP_ERR_TRUNCATED,         /* input ends inside a tag, length or value */
    RSP_ERR_TRAILING,          /* bytes after the outermost value, or after the last field */
    RSP_ERR_LENGTH_OVERRUN,    /* a length runs past its parent */
    RSP_ERR_NON_MINIMAL,       /* DER forbids this length/tag/integer encoding */
    RSP_ERR_INDEFINITE_LENGTH, /* BER indefinite length: not allowed here */
    RSP_ERR_TOO_DEEP,          /* nesting beyond DER_MAX_DEPTH */
    RSP_ERR_TAG_TOO_LONG,      /* tag wider than 4 bytes */
    RSP_ERR_INTEGER_RANGE,     /* integer does not fit, or breaks its constraint */
    RSP_ERR_UNEXPECTED_TAG,    /* a tag the schema does not allow here */
    RSP_ERR_MISSING_FIELD,     /* a mandatory field is absent */
    RSP_ERR_BAD_VALUE,         /* size constraint, boolean, bit string, UTF-8, ... */
    RSP_ERR_TOO_MANY,          /* a SEQUENCE OF longer than allowed */
    /* resources */
    RSP_ERR_NO_MEMORY,
    RSP_ERR_BUFFER_TOO_SMALL,
    /* everything else */
    RSP_ERR_INVALID_ARGUMENT,
    RSP_ERR_CRYPTO, /* a cryptographic operation failed */
    RSP_ERR_VERIFY, /* a signature, MAC or certificate did not verify */
    RSP_ERR_IO,
    RSP_ERR_NOT_FOUND,
    RSP_ERR_STATE, /* not allowed in the current state */
    RSP_ERR_UNSUPPORTED,
    RSP_ERR__COUNT
} rsp_status;

typedef struct {
    rsp_status code;
    uint32_t tag;  /* tag being decoded when it failed, 0 if none */
    size_t offset; /* byte offset in the outermost input, when decoding */
    char message[120];
} rsp_error;

/* Records the first error only: later calls keep the original cause. Returns code. */
rsp_status rsp_error_set(rsp_error *err, rsp_status code, uint32_t tag, size_t offset,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void rsp_error_clear(rsp_error *err);
const char *rsp_status_name(rsp_status code);
/* "UNEXPECTED_TAG at offset 12 (tag BF37): ..." into buf; returns buf. */
const char *rsp_error_format(const rsp_error *err, char *buf, size_t size);

#endif
