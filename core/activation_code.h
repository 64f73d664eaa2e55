/* SGP.22 Activation Codes (v2.5 section 4.1), the string an end user scans from a QR code:
 *
 *   [LPA:]1$<SM-DP+ address>$<AC_Token>[$<SM-DP+ OID>[$<Confirmation Code Required Flag>]]
 *
 * Parsing is strict: an unknown AC_Format, a malformed address, Matching ID or OID, a flag
 * other than "1", stray delimiters, non-printable characters or an over-long code are
 * rejected with the character offset of the problem in rsp_error.offset. */
#ifndef RSPKIT_CORE_ACTIVATION_CODE_H
#define RSPKIT_CORE_ACTIVATION_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Longest Activation Code accepted, "LPA:" prefix excluded. */
#define ACTIVATION_CODE_MAX_LENGTH 255

typedef struct {
    char smdp_address[ACTIVATION_CODE_MAX_LENGTH + 1]; /* FQDN[:port], no scheme */
    char matching_id[ACTIVATION_CODE_MAX_LENGTH + 1];  /* AC_Token; may be empty */
    bool has_smdp_oid;
    char smdp_oid[ACTIVATION_CODE_MAX_LENGTH + 1]; /* dotted decimal */
    bool confirmation_code_required;
} activation_code;

/* Parses text (with or without the "LPA:" prefix of the QR code payload) into *out. */
rsp_status activation_code_parse(const char *text, activation_code *out, rsp_error *err);
/* Formats *code into buf (NUL-terminated), with the "LPA:" prefix when lpa_prefix; fails with
 * RSP_ERR_BAD_VALUE for a code that would not parse back, RSP_ERR_BUFFER_TOO_SMALL. */
rsp_status activation_code_format(const activation_code *code, bool lpa_prefix, char *buf,
                                  size_t size, rsp_error *err);

/* Field validators, shared with other producers of SM-DP+ addresses and OIDs. */
bool activation_code_address_valid(const char *address, size_t len);
bool activation_code_matching_id_valid(const char *matching_id, size_t len);
bool activation_code_oid_valid(const char *oid, size_t len);

#endif
