/* SGP.22 v2.5 section 4.1 Activation Code: parse and format. */
#include "core/activation_code.h"

#include <stdio.h>
#include <string.h>

#define FIELD_COUNT_MAX 5
#define DNS_LABEL_MAX   63

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A host name (RFC 1123 syntax): dot-separated labels of 1..63 letters, digits and inner
 * hyphens, 253 characters at most. */
static bool host_name_valid(const char *host, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (c == '.') {
            if (label == 0 || host[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_letter(c) && !is_digit(c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > DNS_LABEL_MAX)
            return false;
    }
    return label > 0 && host[len - 1] != '-';
}

/* SM-DP+ Address: an FQDN, optionally followed by ":port" (1..65535). SGP.22 names only the
 * FQDN, but servers on a non-default port (test beds, this project's loopback demo) are reached
 * by "host:port" in every deployed LPA; see docs/INTERPRETATION.md. */
bool activation_code_address_valid(const char *address, size_t len)
{
    size_t host_len = len;
    for (size_t i = 0; i < len; i++)
        if (address[i] == ':') {
            host_len = i;
            break;
        }
    if (host_len == len)
        return host_name_valid(address, len);
    size_t digits = len - host_len - 1;
    if (digits == 0 || digits > 5 || address[host_len + 1] == '0')
        return false;
    unsigned long port = 0;
    for (size_t i = host_len + 1; i < len; i++) {
        if (!is_digit(address[i]))
            return false;
        port = port * 10 + (unsigned long)(address[i] - '0');
    }
    return port <= 65535 && host_name_valid(address, host_len);
}

/* SGP.22 v2.5 section 4.1.1: a Matching ID is made of upper case alphanumerics and '-'. */
bool activation_code_matching_id_valid(const char *matching_id, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = matching_id[i];
        if (!is_digit(c) && !(c >= 'A' && c <= 'Z') && c != '-')
            return false;
    }
    return true;
}

/* Dotted-decimal OBJECT IDENTIFIER: at least two arcs, the first 0..2, no leading zeros. */
bool activation_code_oid_valid(const char *oid, size_t len)
{
    size_t arcs = 0, digits = 0;
    if (len == 0 || oid[0] > '2' || oid[0] < '0')
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || oid[i] == '.') {
            if (digits == 0)
                return false;
            arcs++;
            digits = 0;
            continue;
        }
        if (!is_digit(oid[i]) || (digits == 1 && oid[i - 1] == '0'))
            return false;
        digits++;
    }
    return arcs >= 2;
}

typedef struct {
    const char *start;
    size_t len;
    size_t offset; /* within the text given to the parser */
} field;

static rsp_status copy_field(const field *f, char *out, size_t cap, rsp_error *err)
{
    if (f->len >= cap)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, f->offset, "field too long");
    memcpy(out, f->start, f->len);
    out[f->len] = '\0';
    return RSP_OK;
}

/* Splits on '$' after checking every character is printable ASCII. */
static rsp_status split_fields(const char *code, size_t base, field *fields, size_t *count,
                               rsp_error *err)
{
    size_t n = 0;
    const char *start = code;
    for (const char *p = code;; p++) {
        if (*p != '\0' && (*p < 0x21 || *p > 0x7E))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, base + (size_t)(p - code),
                                 "character 0x%02X not allowed", (unsigned)(unsigned char)*p);
        if (*p != '$' && *p != '\0')
            continue;
        if (n == FIELD_COUNT_MAX)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, base + (size_t)(start - code),
                                 "more than %d fields", FIELD_COUNT_MAX);
        fields[n].start = start;
        fields[n].len = (size_t)(p - start);
        fields[n].offset = base + (size_t)(start - code);
        n++;
        if (*p == '\0')
            break;
        start = p + 1;
    }
    *count = n;
    return RSP_OK;
}

/* SGP.22 v2.5 section 4.1 */
rsp_status activation_code_parse(const char *text, activation_code *out, rsp_error *err)
{
    field fields[FIELD_COUNT_MAX];
    size_t count = 0, base = 0;
    rsp_status st;
    memset(out, 0, sizeof *out);
    if (text == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no activation code");
    if (strncmp(text, "LPA:", 4) == 0)
        base = 4;
    const char *code = text + base;
    size_t len = strnlen(code, ACTIVATION_CODE_MAX_LENGTH + 1);
    if (len > ACTIVATION_CODE_MAX_LENGTH)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, base + ACTIVATION_CODE_MAX_LENGTH,
                             "activation code longer than %d characters",
                             ACTIVATION_CODE_MAX_LENGTH);
    if ((st = split_fields(code, base, fields, &count, err)) != RSP_OK)
        return st;
    if (fields[0].len != 1 || fields[0].start[0] != '1')
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, base, "unknown AC_Format '%.*s'",
                             (int)(fields[0].len > 8 ? 8 : fields[0].len), fields[0].start);
    if (count < 3)
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, base + len,
                             "SM-DP+ address and AC_Token are mandatory");
    if (!activation_code_address_valid(fields[1].start, fields[1].len))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, fields[1].offset,
                             "SM-DP+ address is not a valid FQDN");
    if (!activation_code_matching_id_valid(fields[2].start, fields[2].len))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, fields[2].offset,
                             "AC_Token has characters outside 0-9, A-Z and '-'");
    if (count >= 4 && !(fields[3].len == 0 && count == 5) &&
        !activation_code_oid_valid(fields[3].start, fields[3].len))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, fields[3].offset,
                             "SM-DP+ OID is not a dotted object identifier");
    if (count == 5 && (fields[4].len != 1 || fields[4].start[0] != '1'))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, fields[4].offset,
                             "Confirmation Code Required Flag must be '1'");
    copy_field(&fields[1], out->smdp_address, sizeof out->smdp_address, err);
    copy_field(&fields[2], out->matching_id, sizeof out->matching_id, err);
    if (count >= 4 && fields[3].len > 0) {
        out->has_smdp_oid = true;
        copy_field(&fields[3], out->smdp_oid, sizeof out->smdp_oid, err);
    }
    out->confirmation_code_required = count == 5;
    return RSP_OK;
}

/* SGP.22 v2.5 section 4.1 */
rsp_status activation_code_format(const activation_code *code, bool lpa_prefix, char *buf,
                                  size_t size, rsp_error *err)
{
    size_t address_len = strnlen(code->smdp_address, sizeof code->smdp_address);
    size_t id_len = strnlen(code->matching_id, sizeof code->matching_id);
    size_t oid_len = code->has_smdp_oid ? strnlen(code->smdp_oid, sizeof code->smdp_oid) : 0;
    if (!activation_code_address_valid(code->smdp_address, address_len) ||
        !activation_code_matching_id_valid(code->matching_id, id_len) ||
        (code->has_smdp_oid && !activation_code_oid_valid(code->smdp_oid, oid_len)))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "activation code field invalid");
    int n = snprintf(
        buf, size, "%s1$%s$%s%s%s%s", lpa_prefix ? "LPA:" : "", code->smdp_address,
        code->matching_id, code->has_smdp_oid || code->confirmation_code_required ? "$" : "",
        code->has_smdp_oid ? code->smdp_oid : "", code->confirmation_code_required ? "$1" : "");
    if (n < 0 || (size_t)n >= size)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "activation code needs %d bytes",
                             n + 1);
    if ((size_t)n - (lpa_prefix ? 4u : 0u) > ACTIVATION_CODE_MAX_LENGTH)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "activation code longer than %d",
                             ACTIVATION_CODE_MAX_LENGTH);
    return RSP_OK;
}
