#include "crypto/certificate.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct rsp_certificate {
    X509 *x509;
    uint8_t *der; /* OPENSSL_malloc'ed encoding */
    size_t der_len;
    uint8_t digest[RSP_SHA256_SIZE]; /* SHA-256 of der: the identity the caches use */
};

struct rsp_crl {
    X509_CRL *crl;
    uint8_t digest[RSP_SHA256_SIZE]; /* SHA-256 of the DER encoding */
    /* Read once at load: every chain verification consults them, and parsing the ASN.1 times
     * and extensions again each time cost more than the rest of the revocation check. */
    bool plain;           /* crl_is_plain */
    int64_t last_update;  /* seconds since 1970 (UTC) */
    bool has_next_update; /* nextUpdate is optional (RFC 5280 section 5.1.2.5) */
    int64_t next_update;
};

#define MAX_FILE_SIZE (1u << 20) /* certificates and CRLs are a few kB */

static const char *const role_names[RSP_CERT_ROLE__COUNT] = {
    [RSP_CERT_ROLE_UNKNOWN] = "unknown", [RSP_CERT_ROLE_CI] = "CI",
    [RSP_CERT_ROLE_EUICC] = "eUICC",     [RSP_CERT_ROLE_EUM] = "EUM",
    [RSP_CERT_ROLE_DP_TLS] = "DPtls",    [RSP_CERT_ROLE_DP_AUTH] = "DPauth",
    [RSP_CERT_ROLE_DP_PB] = "DPpb",      [RSP_CERT_ROLE_DS_TLS] = "DStls",
    [RSP_CERT_ROLE_DS_AUTH] = "DSauth",  [RSP_CERT_ROLE_EIM] = "eIM",
    [RSP_CERT_ROLE_EIM_TLS] = "eIM-TLS",
};

/* SGP.22 v2.5 section 4.5.2.1 (id-rspRole OIDs, also in the RSPDefinitions ASN.1 module). */
static const char *const role_policies[RSP_CERT_ROLE__COUNT] = {
    [RSP_CERT_ROLE_CI] = RSP_OID_RSP_ROLE ".0",
    [RSP_CERT_ROLE_EUICC] = RSP_OID_RSP_ROLE ".1",
    [RSP_CERT_ROLE_EUM] = RSP_OID_RSP_ROLE ".2",
    [RSP_CERT_ROLE_DP_TLS] = RSP_OID_RSP_ROLE ".3",
    [RSP_CERT_ROLE_DP_AUTH] = RSP_OID_RSP_ROLE ".4",
    [RSP_CERT_ROLE_DP_PB] = RSP_OID_RSP_ROLE ".5",
    [RSP_CERT_ROLE_DS_TLS] = RSP_OID_RSP_ROLE ".6",
    [RSP_CERT_ROLE_DS_AUTH] = RSP_OID_RSP_ROLE ".7",
};

static const char *const failure_names[] = {
    [RSP_CERT_OK] = "ok",
    [RSP_CERT_FAIL_ISSUER] = "issuer",
    [RSP_CERT_FAIL_SIGNATURE] = "signature",
    [RSP_CERT_FAIL_EXPIRED] = "expired",
    [RSP_CERT_FAIL_NOT_YET_VALID] = "not-yet-valid",
    [RSP_CERT_FAIL_REVOKED] = "revoked",
    [RSP_CERT_FAIL_CRL] = "crl",
    [RSP_CERT_FAIL_ROLE] = "role",
    [RSP_CERT_FAIL_EID] = "eid",
    [RSP_CERT_FAIL_EID_RANGE] = "eid-range",
    [RSP_CERT_FAIL_CURVE] = "curve",
    [RSP_CERT_FAIL_CI_UNKNOWN] = "ci-unknown",
    [RSP_CERT_FAIL_OTHER] = "other",
};

const char *rsp_cert_role_name(rsp_cert_role role)
{
    return (unsigned)role < RSP_CERT_ROLE__COUNT ? role_names[role] : "invalid";
}

const char *rsp_cert_role_policy_oid(rsp_cert_role role)
{
    return (unsigned)role < RSP_CERT_ROLE__COUNT ? role_policies[role] : NULL;
}

const char *rsp_cert_failure_name(rsp_cert_failure failure)
{
    return (unsigned)failure <= RSP_CERT_FAIL_OTHER ? failure_names[failure] : "invalid";
}

static bool role_is_ca(rsp_cert_role role)
{
    return role == RSP_CERT_ROLE_CI || role == RSP_CERT_ROLE_EUM;
}

static bool role_is_tls(rsp_cert_role role)
{
    return role == RSP_CERT_ROLE_DP_TLS || role == RSP_CERT_ROLE_DS_TLS ||
           role == RSP_CERT_ROLE_EIM_TLS;
}

/* ---- EIDs ---- */

/* GSMA SGP.29 (EID definition): ISO/IEC 7064 MOD 97-10 over the decimal digits. */
static unsigned eid_mod97(const char *digits, size_t count)
{
    unsigned remainder = 0;
    for (size_t i = 0; i < count; i++)
        remainder = (remainder * 10 + (unsigned)(digits[i] - '0')) % 97;
    return remainder;
}

static bool all_digits(const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return text[count] == '\0';
}

bool rsp_eid_is_valid(const char *eid)
{
    if (eid == NULL || strlen(eid) != RSP_EID_DIGITS || !all_digits(eid, RSP_EID_DIGITS))
        return false;
    return eid_mod97(eid, RSP_EID_DIGITS) == 1;
}

rsp_status rsp_eid_complete(const char *first_30_digits, char eid[RSP_EID_STRING_SIZE])
{
    if (first_30_digits == NULL || strlen(first_30_digits) != RSP_EID_DIGITS - 2 ||
        !all_digits(first_30_digits, RSP_EID_DIGITS - 2))
        return RSP_ERR_INVALID_ARGUMENT;
    memcpy(eid, first_30_digits, RSP_EID_DIGITS - 2);
    eid[RSP_EID_DIGITS - 2] = '0';
    eid[RSP_EID_DIGITS - 1] = '0';
    unsigned check = 98 - eid_mod97(eid, RSP_EID_DIGITS);
    eid[RSP_EID_DIGITS - 2] = (char)('0' + check / 10);
    eid[RSP_EID_DIGITS - 1] = (char)('0' + check % 10);
    eid[RSP_EID_DIGITS] = '\0';
    return RSP_OK;
}

/* ---- loading ---- */

static rsp_status openssl_failure(rsp_error *err, rsp_status code, const char *what)
{
    unsigned long detail = ERR_get_error();
    char text[80] = "";
    if (detail != 0)
        ERR_error_string_n(detail, text, sizeof text);
    ERR_clear_error();
    return rsp_error_set(err, code, 0, 0, "%s%s%s", what, detail ? ": " : "", text);
}

rsp_status rsp_certificate_from_x509(X509 *x509, rsp_certificate **out, rsp_error *err)
{
    *out = NULL;
    if (x509 == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no certificate");
    rsp_certificate *cert = calloc(1, sizeof *cert);
    if (cert == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "certificate");
    unsigned char *der = NULL;
    int len = i2d_X509(x509, &der);
    if (len <= 0 || !X509_up_ref(x509)) {
        OPENSSL_free(der);
        free(cert);
        return openssl_failure(err, RSP_ERR_CRYPTO, "certificate encoding");
    }
    if (EVP_Digest(der, (size_t)len, cert->digest, NULL, EVP_sha256(), NULL) != 1) {
        X509_free(x509);
        OPENSSL_free(der);
        free(cert);
        return openssl_failure(err, RSP_ERR_CRYPTO, "certificate digest");
    }
    cert->x509 = x509;
    cert->der = der;
    cert->der_len = (size_t)len;
    *out = cert;
    return RSP_OK;
}

rsp_status rsp_certificate_from_der(const uint8_t *der, size_t len, rsp_certificate **out,
                                    rsp_error *err)
{
    *out = NULL;
    if (der == NULL || len == 0 || len > MAX_FILE_SIZE)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "certificate: bad length");
    const unsigned char *cursor = der;
    X509 *x509 = d2i_X509(NULL, &cursor, (long)len);
    if (x509 == NULL)
        return openssl_failure(err, RSP_ERR_BAD_VALUE, "certificate: not a DER X.509 certificate");
    rsp_status status = RSP_OK;
    if ((size_t)(cursor - der) != len)
        status = rsp_error_set(err, RSP_ERR_TRAILING, 0, (size_t)(cursor - der),
                               "certificate: bytes after the certificate");
    else
        status = rsp_certificate_from_x509(x509, out, err);
    X509_free(x509);
    return status;
}

static bool looks_like_pem(const uint8_t *data, size_t len)
{
    static const char marker[] = "-----BEGIN";
    for (size_t i = 0; i + sizeof marker - 1 <= len; i++)
        if (memcmp(data + i, marker, sizeof marker - 1) == 0)
            return true;
    return false;
}

rsp_status rsp_certificate_load(const uint8_t *data, size_t len, rsp_certificate **out,
                                rsp_error *err)
{
    *out = NULL;
    if (data == NULL || len == 0 || len > MAX_FILE_SIZE)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "certificate: bad length");
    if (!looks_like_pem(data, len))
        return rsp_certificate_from_der(data, len, out, err);
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    X509 *x509 = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (x509 == NULL)
        return openssl_failure(err, RSP_ERR_BAD_VALUE, "certificate: no PEM certificate");
    rsp_status status = rsp_certificate_from_x509(x509, out, err);
    X509_free(x509);
    return status;
}

/* Whole file into a malloc'ed buffer. */
static rsp_status read_file(const char *path, uint8_t **data, size_t *len, rsp_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s", path);
    uint8_t *buffer = malloc(MAX_FILE_SIZE);
    size_t got = buffer ? fread(buffer, 1, MAX_FILE_SIZE, file) : 0;
    bool too_big = got == MAX_FILE_SIZE;
    bool failed = ferror(file) != 0;
    fclose(file);
    if (buffer == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "reading %s", path);
    if (failed || too_big || got == 0) {
        free(buffer);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", path,
                             too_big  ? "too large"
                             : failed ? "read error"
                                      : "empty");
    }
    *data = buffer;
    *len = got;
    return RSP_OK;
}

rsp_status rsp_certificate_load_file(const char *path, rsp_certificate **out, rsp_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    rsp_status status = read_file(path, &data, &len, err);
    if (status == RSP_OK)
        status = rsp_certificate_load(data, len, out, err);
    free(data);
    return status;
}

void rsp_certificate_free(rsp_certificate *cert)
{
    if (cert == NULL)
        return;
    X509_free(cert->x509);
    OPENSSL_free(cert->der);
    free(cert);
}

X509 *rsp_certificate_x509(const rsp_certificate *cert)
{
    return cert->x509;
}

der_view rsp_certificate_der(const rsp_certificate *cert)
{
    return der_view_make(cert->der, cert->der_len);
}

static rsp_status write_bytes(const char *path, const uint8_t *data, size_t len, rsp_error *err)
{
    FILE *file = fopen(path, "wb");
    if (file == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", path);
    bool ok = fwrite(data, 1, len, file) == len;
    ok = (fclose(file) == 0) && ok;
    return ok ? RSP_OK : rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
}

rsp_status rsp_certificate_write_der_file(const rsp_certificate *cert, const char *path,
                                          rsp_error *err)
{
    return write_bytes(path, cert->der, cert->der_len, err);
}

rsp_status rsp_certificate_write_pem_file(const rsp_certificate *cert, const char *path,
                                          rsp_error *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || !PEM_write_bio_X509(bio, cert->x509)) {
        BIO_free(bio);
        return openssl_failure(err, RSP_ERR_CRYPTO, "PEM encoding");
    }
    char *pem = NULL;
    long len = BIO_get_mem_data(bio, &pem);
    rsp_status status = write_bytes(path, (const uint8_t *)pem, (size_t)len, err);
    BIO_free(bio);
    return status;
}

/* ---- inspection ---- */

static rsp_status octet_view(const ASN1_OCTET_STRING *octets, der_view *out)
{
    *out = der_view_make(NULL, 0);
    if (octets == NULL)
        return RSP_ERR_NOT_FOUND;
    *out = der_view_make(ASN1_STRING_get0_data(octets), (size_t)ASN1_STRING_length(octets));
    return RSP_OK;
}

rsp_status rsp_certificate_subject_key_id(const rsp_certificate *cert, der_view *out)
{
    return octet_view(X509_get0_subject_key_id(cert->x509), out);
}

rsp_status rsp_certificate_authority_key_id(const rsp_certificate *cert, der_view *out)
{
    return octet_view(X509_get0_authority_key_id(cert->x509), out);
}

static rsp_curve evp_curve(const EVP_PKEY *pkey)
{
    char group[64];
    if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        !EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL))
        return RSP_CURVE_UNKNOWN;
    return rsp_curve_from_name(group);
}

rsp_curve rsp_certificate_curve(const rsp_certificate *cert)
{
    return evp_curve(X509_get0_pubkey(cert->x509));
}

rsp_status rsp_certificate_public_key(const rsp_certificate *cert, rsp_public_key **out,
                                      rsp_error *err)
{
    *out = NULL;
    EVP_PKEY *pkey = X509_get0_pubkey(cert->x509);
    if (pkey == NULL)
        return openssl_failure(err, RSP_ERR_BAD_VALUE, "certificate: unreadable public key");
    return rsp_public_key_from_evp(pkey, out, err);
}

/* Collects the id-rspRole policy OIDs (dotted) of a certificate; returns how many. */
static int rsp_role_policies(const rsp_certificate *cert, char found[4][64], int *total_policies)
{
    int count = 0;
    *total_policies = 0;
    CERTIFICATEPOLICIES *policies =
        X509_get_ext_d2i(cert->x509, NID_certificate_policies, NULL, NULL);
    if (policies == NULL)
        return 0;
    *total_policies = sk_POLICYINFO_num(policies);
    for (int i = 0; i < sk_POLICYINFO_num(policies) && count < 4; i++) {
        char oid[64];
        const POLICYINFO *info = sk_POLICYINFO_value(policies, i);
        if (OBJ_obj2txt(oid, sizeof oid, info->policyid, 1) <= 0)
            continue;
        if (strncmp(oid, RSP_OID_RSP_ROLE ".", sizeof RSP_OID_RSP_ROLE) == 0)
            memcpy(found[count++], oid, sizeof oid);
    }
    CERTIFICATEPOLICIES_free(policies);
    return count;
}

static rsp_cert_role role_from_policy(const char *oid)
{
    for (int role = RSP_CERT_ROLE_CI; role < RSP_CERT_ROLE__COUNT; role++)
        if (role_policies[role] != NULL && strcmp(role_policies[role], oid) == 0)
            return (rsp_cert_role)role;
    return RSP_CERT_ROLE_UNKNOWN;
}

rsp_cert_role rsp_certificate_role(const rsp_certificate *cert)
{
    char found[4][64];
    int total = 0;
    if (rsp_role_policies(cert, found, &total) != 1)
        return RSP_CERT_ROLE_UNKNOWN;
    return role_from_policy(found[0]);
}

/* First entry of nid in name as a NUL-terminated string; false if absent or too long. */
static bool name_entry_text(const X509_NAME *name, int nid, char *buf, size_t size)
{
    int index = X509_NAME_get_index_by_NID(name, nid, -1);
    if (index < 0)
        return false;
    const ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    int len = ASN1_STRING_length(value);
    if (len < 0 || (size_t)len >= size)
        return false;
    memcpy(buf, ASN1_STRING_get0_data(value), (size_t)len);
    buf[len] = '\0';
    return strlen(buf) == (size_t)len; /* no embedded NUL */
}

rsp_status rsp_certificate_eid(const rsp_certificate *cert, char eid[RSP_EID_STRING_SIZE],
                               rsp_error *err)
{
    char serial[RSP_EID_STRING_SIZE + 8];
    eid[0] = '\0';
    if (!name_entry_text(X509_get_subject_name(cert->x509), NID_serialNumber, serial,
                         sizeof serial))
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0,
                             "eUICC certificate: no subject serialNumber (EID)");
    if (!rsp_eid_is_valid(serial))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "eUICC certificate: subject serialNumber '%s' is not a valid EID "
                             "(32 digits, mod 97 == 1)",
                             serial);
    memcpy(eid, serial, RSP_EID_STRING_SIZE);
    return RSP_OK;
}

bool rsp_certificate_is_self_signed(const rsp_certificate *cert)
{
    return X509_check_issued(cert->x509, cert->x509) == X509_V_OK &&
           X509_verify(cert->x509, X509_get0_pubkey(cert->x509)) == 1;
}

static void name_text(const X509_NAME *name, char *buf, size_t size)
{
    buf[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return;
    if (X509_NAME_print_ex(bio, name, 0,
                           (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_DN_REV)) >= 0) {
        int len = BIO_read(bio, buf, (int)size - 1);
        buf[len > 0 ? len : 0] = '\0';
    }
    BIO_free(bio);
}

void rsp_certificate_subject_text(const rsp_certificate *cert, char *buf, size_t size)
{
    name_text(X509_get_subject_name(cert->x509), buf, size);
}

void rsp_certificate_issuer_text(const rsp_certificate *cert, char *buf, size_t size)
{
    name_text(X509_get_issuer_name(cert->x509), buf, size);
}

/* ---- role profile checks ---- */

static bool has_critical_extension(const X509 *x509, int nid)
{
    int index = X509_get_ext_by_NID(x509, nid, -1);
    return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x509, index));
}

static rsp_status check_policy(const rsp_certificate *cert, rsp_cert_role role, rsp_error *err)
{
    char found[4][64];
    int total = 0;
    int count = rsp_role_policies(cert, found, &total);
    const char *name = rsp_cert_role_name(role);
    const char *expected = role_policies[role];
    if (expected == NULL) {
        if (count == 0)
            return RSP_OK;
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong certificate policy: carries GSMA role %s (%s)",
                             name, found[0], rsp_cert_role_name(role_from_policy(found[0])));
    }
    if (count == 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong certificate policy: no id-rspRole policy, "
                             "expected %s",
                             name, expected);
    if (count > 1 || strcmp(found[0], expected) != 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong certificate policy %s (%s), expected %s", name,
                             found[0], rsp_cert_role_name(role_from_policy(found[0])), expected);
    return RSP_OK;
}

static rsp_status check_key_usage(const rsp_certificate *cert, rsp_cert_role role, rsp_error *err)
{
    const char *name = rsp_cert_role_name(role);
    if (X509_get_ext_by_NID(cert->x509, NID_key_usage, -1) < 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong key usage: extension absent", name);
    uint32_t usage = X509_get_key_usage(cert->x509);
    uint32_t required = KU_DIGITAL_SIGNATURE;
    uint32_t forbidden = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
    if (role == RSP_CERT_ROLE_CI) {
        required = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
        forbidden = 0;
    } else if (role == RSP_CERT_ROLE_EUM) {
        required = KU_KEY_CERT_SIGN;
        forbidden = 0;
    }
    if ((usage & required) != required || (usage & forbidden) != 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong key usage 0x%02x, expected %s", name,
                             (unsigned)usage,
                             role == RSP_CERT_ROLE_CI    ? "keyCertSign+cRLSign"
                             : role == RSP_CERT_ROLE_EUM ? "keyCertSign"
                                                         : "digitalSignature without keyCertSign");
    return RSP_OK;
}

static rsp_status check_constraints(const rsp_certificate *cert, rsp_cert_role role, rsp_error *err)
{
    const char *name = rsp_cert_role_name(role);
    bool is_ca =
        X509_check_ca(cert->x509) == 1 && has_critical_extension(cert->x509, NID_basic_constraints);
    if (role_is_ca(role) && !is_ca)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: basic constraints: not a CA (critical cA=TRUE "
                             "required)",
                             name);
    if (!role_is_ca(role) && (X509_get_extension_flags(cert->x509) & EXFLAG_CA))
        return rsp_error_set(
            err, RSP_ERR_VERIFY, 0, 0,
            "%s certificate: basic constraints: end-entity certificate has cA=TRUE", name);
    /* An absent EKU would mean "any purpose" (RFC 5280); GSMA TLS profiles list serverAuth. */
    if (role_is_tls(role) && (!(X509_get_extension_flags(cert->x509) & EXFLAG_XKUSAGE) ||
                              !(X509_get_extended_key_usage(cert->x509) & XKU_SSL_SERVER)))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "%s certificate: wrong extended key usage: no serverAuth", name);
    if (role == RSP_CERT_ROLE_CI && !rsp_certificate_is_self_signed(cert))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "CI certificate: not self-signed");
    der_view key_id;
    if ((role == RSP_CERT_ROLE_CI || role == RSP_CERT_ROLE_EUM) &&
        rsp_certificate_subject_key_id(cert, &key_id) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "%s certificate: no subject key identifier",
                             name);
    return RSP_OK;
}

/* SGP.22 v2.5 sections 4.5.2.1.0.1 (CI) to 4.5.2.1.0.7 (SM-DS), without the EID. */
static rsp_status check_profile(const rsp_certificate *cert, rsp_cert_role role, rsp_error *err)
{
    rsp_status status = check_policy(cert, role, err);
    if (status == RSP_OK)
        status = check_key_usage(cert, role, err);
    if (status == RSP_OK)
        status = check_constraints(cert, role, err);
    return status;
}

rsp_status rsp_certificate_check_role(const rsp_certificate *cert, rsp_cert_role role,
                                      rsp_error *err)
{
    if (cert == NULL || role <= RSP_CERT_ROLE_UNKNOWN || role >= RSP_CERT_ROLE__COUNT)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "certificate role check");
    rsp_status status = check_profile(cert, role, err);
    if (status == RSP_OK && role == RSP_CERT_ROLE_EUICC) {
        char eid[RSP_EID_STRING_SIZE];
        status = rsp_certificate_eid(cert, eid, err);
        if (status == RSP_ERR_NOT_FOUND)
            status = RSP_ERR_VERIFY;
    }
    return status;
}

/* ---- EID range of an EUM ---- */

typedef struct {
    char prefixes[8][RSP_EID_STRING_SIZE];
    char organizations[8][65]; /* "" when the subtree names no organization */
    size_t count;
} eid_ranges;

/* An empty prefix would permit every EID: such an entry is ignored, like any beyond the eighth
 * (the EUMs seen carry one). */
static void add_range(eid_ranges *ranges, const char *prefix, const char *organization)
{
    if (ranges->count >= 8 || prefix[0] == '\0' || strlen(prefix) > RSP_EID_DIGITS ||
        strlen(organization) > 64)
        return;
    strcpy(ranges->prefixes[ranges->count], prefix);
    strcpy(ranges->organizations[ranges->count], organization);
    ranges->count++;
}

/* SGP.22 v2.5 section 4.5.2.1.0.3: permittedSubtrees directoryName {O, serialNumber=prefix}. */
static void collect_name_constraints(const X509 *eum, eid_ranges *ranges)
{
    NAME_CONSTRAINTS *constraints = X509_get_ext_d2i(eum, NID_name_constraints, NULL, NULL);
    if (constraints == NULL)
        return;
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees); i++) {
        const GENERAL_SUBTREE *subtree =
            sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
        if (subtree->base->type != GEN_DIRNAME)
            continue;
        char prefix[RSP_EID_STRING_SIZE + 1];
        char organization[65] = "";
        if (!name_entry_text(subtree->base->d.directoryName, NID_serialNumber, prefix,
                             sizeof prefix))
            continue;
        if (!name_entry_text(subtree->base->d.directoryName, NID_organizationName, organization,
                             sizeof organization))
            organization[0] = '\0';
        add_range(ranges, prefix, organization);
    }
    NAME_CONSTRAINTS_free(constraints);
}

/* SGP.22 v3.1 section 4.5.2.1.0.3: PermittedEins ::= SEQUENCE OF PrintableString. */
static rsp_status collect_permitted_eins(const X509 *eum, eid_ranges *ranges, rsp_error *err)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(RSP_OID_PERMITTED_EINS, 1);
    int index = oid ? X509_get_ext_by_OBJ(eum, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (index < 0)
        return RSP_OK;
    const ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(X509_get_ext(eum, index));
    der_tlv sequence, item;
    der_reader reader;
    rsp_status status = der_parse_single(
        der_view_make(ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value)), &sequence,
        err);
    if (status == RSP_OK && sequence.tag != 0x30)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, sequence.tag, 0,
                               "EUM permittedEins: not a SEQUENCE");
    if (status == RSP_OK)
        status = der_reader_enter(&sequence, 0, &reader, err);
    while (status == RSP_OK && !der_reader_at_end(&reader)) {
        status = der_reader_next(&reader, &item, err);
        if (status != RSP_OK)
            break;
        if (item.tag != 0x13 || item.value.len == 0 || item.value.len > RSP_EID_DIGITS)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, item.tag, item.offset,
                                 "EUM permittedEins: entry is not a PrintableString EID prefix");
        char prefix[RSP_EID_STRING_SIZE];
        memcpy(prefix, item.value.data, item.value.len);
        prefix[item.value.len] = '\0';
        add_range(ranges, prefix, "");
    }
    return status;
}

static bool eid_in_ranges(const eid_ranges *ranges, const char *eid, const char *organization)
{
    for (size_t i = 0; i < ranges->count; i++) {
        bool prefix_ok = strncmp(eid, ranges->prefixes[i], strlen(ranges->prefixes[i])) == 0;
        bool organization_ok = ranges->organizations[i][0] == '\0' ||
                               strcmp(ranges->organizations[i], organization) == 0;
        if (prefix_ok && organization_ok)
            return true;
    }
    return false;
}

/* The message stays within rsp_error's 120 characters: first range only. */
static rsp_status eid_range_failure(const char *eid, const eid_ranges *ranges, rsp_error *err)
{
    const char *organization = ranges->organizations[0];
    return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                         "eUICC certificate: EID %s outside the EUM range %s*%s%s%s%s", eid,
                         ranges->prefixes[0], organization[0] ? " (O=" : "", organization,
                         organization[0] ? ")" : "", ranges->count > 1 ? " ..." : "");
}

/* Both forms are restrictions, so an EUM carrying both must satisfy both. organization is the
 * eUICC subject's O ("" when it has none). */
static rsp_status check_eid_in_eum_range(const rsp_certificate *eum, const char *eid,
                                         const char *organization, rsp_error *err)
{
    eid_ranges subtrees = {0};
    eid_ranges permitted_eins = {0};
    collect_name_constraints(eum->x509, &subtrees);
    rsp_status status = collect_permitted_eins(eum->x509, &permitted_eins, err);
    if (status != RSP_OK)
        return status;
    if (subtrees.count == 0 && permitted_eins.count == 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "EUM certificate: no permitted EID range (nameConstraints "
                             "serialNumber or permittedEins)");
    if (subtrees.count > 0 && !eid_in_ranges(&subtrees, eid, organization))
        return eid_range_failure(eid, &subtrees, err);
    if (permitted_eins.count > 0 && !eid_in_ranges(&permitted_eins, eid, organization))
        return eid_range_failure(eid, &permitted_eins, err);
    return RSP_OK;
}

rsp_status rsp_certificate_check_eid_range(const rsp_certificate *eum, const rsp_certificate *euicc,
                                           rsp_error *err)
{
    char eid[RSP_EID_STRING_SIZE];
    char organization[65] = "";
    rsp_status status = rsp_certificate_eid(euicc, eid, err);
    if (status != RSP_OK)
        return status;
    if (!name_entry_text(X509_get_subject_name(euicc->x509), NID_organizationName, organization,
                         sizeof organization))
        organization[0] = '\0';
    return check_eid_in_eum_range(eum, eid, organization, err);
}

/* ---- description ---- */

static void print_time(FILE *out, const char *label, const ASN1_TIME *when)
{
    struct tm tm;
    if (when != NULL && ASN1_TIME_to_tm(when, &tm)) {
        char text[32];
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(out, "  %-18s %s UTC\n", label, text);
    }
}

static void print_hex(FILE *out, const char *label, der_view bytes)
{
    fprintf(out, "  %-18s ", label);
    for (size_t i = 0; i < bytes.len; i++)
        fprintf(out, "%02X", bytes.data[i]);
    fputc('\n', out);
}

void rsp_certificate_describe(const rsp_certificate *cert, FILE *out)
{
    char text[256];
    der_view key_id;
    rsp_cert_role role = rsp_certificate_role(cert);
    if (role == RSP_CERT_ROLE_UNKNOWN)
        fprintf(out, "  %-18s none (no id-rspRole policy: eIM, or not a GSMA certificate)\n",
                "role");
    else
        fprintf(out, "  %-18s %s %s\n", "role", rsp_cert_role_name(role), role_policies[role]);
    rsp_certificate_subject_text(cert, text, sizeof text);
    fprintf(out, "  %-18s %s\n", "subject", text);
    rsp_certificate_issuer_text(cert, text, sizeof text);
    fprintf(out, "  %-18s %s\n", "issuer", text);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert->x509);
    print_hex(out, "serial", der_view_make(serial->data, (size_t)serial->length));
    print_time(out, "not before", X509_get0_notBefore(cert->x509));
    print_time(out, "not after", X509_get0_notAfter(cert->x509));
    const char *curve = rsp_curve_name(rsp_certificate_curve(cert));
    fprintf(out, "  %-18s %s\n", "curve", curve ? curve : "unsupported");
    if (rsp_certificate_subject_key_id(cert, &key_id) == RSP_OK)
        print_hex(out, "subject key id", key_id);
    if (rsp_certificate_authority_key_id(cert, &key_id) == RSP_OK)
        print_hex(out, "authority key id", key_id);
    char eid[RSP_EID_STRING_SIZE];
    if (role == RSP_CERT_ROLE_EUICC && rsp_certificate_eid(cert, eid, NULL) == RSP_OK)
        fprintf(out, "  %-18s %s\n", "EID", eid);
    eid_ranges ranges = {0};
    collect_name_constraints(cert->x509, &ranges);
    collect_permitted_eins(cert->x509, &ranges, NULL);
    for (size_t i = 0; i < ranges.count; i++)
        fprintf(out, "  %-18s %s*%s%s\n", "permitted EIDs", ranges.prefixes[i],
                ranges.organizations[i][0] ? " O=" : "", ranges.organizations[i]);
}

/* ---- process-wide caches ----
 * Keyed by the SHA-256 of exact DER bytes, so a different certificate with the same names never
 * hits an entry. Three small tables behind one mutex (the servers verify from thread pools):
 * parsed certificates (an EUM is parsed once, not per download), EUM-to-CI signatures already
 * verified, CRL signatures already verified. A verdict that depends on the clock or on the
 * CRLs of the call (validity, revocation) is never cached: it is checked again at each use. */

#define CACHE_SLOTS 64

typedef struct {
    bool used;
    uint8_t digest[RSP_SHA256_SIZE];
    X509 *x509; /* one reference held by the cache */
} parsed_slot;

typedef struct {
    bool used;
    uint8_t subject[RSP_SHA256_SIZE]; /* EUM certificate, or CRL */
    uint8_t issuer[RSP_SHA256_SIZE];  /* certificate whose key verified its signature */
} signature_slot;

static struct {
    pthread_mutex_t lock;
    parsed_slot parsed[CACHE_SLOTS];
    size_t parsed_next;
    signature_slot chains[CACHE_SLOTS];
    size_t chains_next;
    signature_slot crls[CACHE_SLOTS];
    size_t crls_next;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static X509 *parsed_lookup(const uint8_t digest[RSP_SHA256_SIZE])
{
    X509 *found = NULL;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS && found == NULL; i++)
        if (cache.parsed[i].used && memcmp(cache.parsed[i].digest, digest, RSP_SHA256_SIZE) == 0 &&
            X509_up_ref(cache.parsed[i].x509))
            found = cache.parsed[i].x509;
    pthread_mutex_unlock(&cache.lock);
    return found;
}

static void parsed_insert(const uint8_t digest[RSP_SHA256_SIZE], X509 *x509)
{
    if (!X509_up_ref(x509))
        return;
    pthread_mutex_lock(&cache.lock);
    parsed_slot *slot = &cache.parsed[cache.parsed_next];
    cache.parsed_next = (cache.parsed_next + 1) % CACHE_SLOTS;
    X509 *evicted = slot->used ? slot->x509 : NULL;
    slot->used = true;
    memcpy(slot->digest, digest, RSP_SHA256_SIZE);
    slot->x509 = x509;
    pthread_mutex_unlock(&cache.lock);
    X509_free(evicted);
}

static bool signature_known(signature_slot *table, const uint8_t subject[RSP_SHA256_SIZE],
                            const uint8_t issuer[RSP_SHA256_SIZE])
{
    bool found = false;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SLOTS && !found; i++)
        found = table[i].used && memcmp(table[i].subject, subject, RSP_SHA256_SIZE) == 0 &&
                memcmp(table[i].issuer, issuer, RSP_SHA256_SIZE) == 0;
    pthread_mutex_unlock(&cache.lock);
    return found;
}

static void signature_insert(signature_slot *table, size_t *next,
                             const uint8_t subject[RSP_SHA256_SIZE],
                             const uint8_t issuer[RSP_SHA256_SIZE])
{
    if (signature_known(table, subject, issuer))
        return;
    pthread_mutex_lock(&cache.lock);
    signature_slot *slot = &table[*next];
    *next = (*next + 1) % CACHE_SLOTS;
    slot->used = true;
    memcpy(slot->subject, subject, RSP_SHA256_SIZE);
    memcpy(slot->issuer, issuer, RSP_SHA256_SIZE);
    pthread_mutex_unlock(&cache.lock);
}

/* The CI (of cis) a verified EUM was signed by, or NULL when this EUM is not cached under any
 * of them. */
static const rsp_certificate *cached_eum_issuer(const rsp_certificate *eum,
                                                const rsp_certificate *const *cis, size_t ci_count)
{
    for (size_t i = 0; i < ci_count; i++)
        if (signature_known(cache.chains, eum->digest, cis[i]->digest))
            return cis[i];
    return NULL;
}

/* ---- remembered signature links ----
 * A link is "the signature of these exact certificate bytes verifies with the key of those exact
 * issuer bytes": a pure fact of the two encodings, so it can be remembered for the whole process
 * and shared by every caller (a device downloads again and again from the same SM-DP+; an SM-DP+
 * sees an eUICC certificate at its download and again in its notifications). Only the signature
 * check is skipped on a hit; profile, validity, revocation, allowed CIs, curves and EID range
 * are checked at every call.
 * Two memos: leaf links (a certificate signed by a CI directly: SM-DP+, SM-DS, eIM) and eUICC
 * links (eUICC certificate signed by its EUM), the latter consulted only on request
 * (remember_euicc_link) because the SM-DP+ download path is benchmarked against a crypto floor
 * that includes that check. Each memo is a fixed set-associative table indexed by the key's
 * digest bits; a full set replaces its ways in turn, so memory is bounded whatever the traffic.
 * The lock of a set is held for a few comparisons only, never during OpenSSL work. */

#define LINK_WAYS       8
#define LINK_LOCKS      16
#define LEAF_LINK_SETS  32   /* 256 links: a device meets a handful of SM-DP+ and eIMs */
#define EUICC_LINK_SETS 4096 /* 32768 links (2 MiB): a fleet's eUICCs, per EUM */

typedef struct {
    uint8_t subject[RSP_SHA256_SIZE]; /* SHA-256 of the signed certificate's DER */
    uint8_t issuer[RSP_SHA256_SIZE];  /* SHA-256 of the issuer's DER (its key verified it) */
} link_entry;

typedef struct {
    link_entry ways[LINK_WAYS];
    uint8_t used; /* ways filled */
    uint8_t next; /* way replaced next once the set is full */
} link_set;

typedef struct {
    link_set *sets;
    size_t set_count;
    pthread_mutex_t locks[LINK_LOCKS]; /* lock of set i: locks[i % LINK_LOCKS] */
    atomic_uint_fast64_t hits, insertions;
} link_memo;

#define LINK_LOCK_INIT_4                                                                           \
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,               \
        PTHREAD_MUTEX_INITIALIZER
_Static_assert(LINK_LOCKS == 16, "LINK_MEMO_INIT names 16 mutex initializers");
#define LINK_MEMO_INIT(table)                                                                      \
    {                                                                                              \
        .sets = (table), .set_count = sizeof(table) / sizeof(table)[0], .locks = {                 \
            LINK_LOCK_INIT_4,                                                                      \
            LINK_LOCK_INIT_4,                                                                      \
            LINK_LOCK_INIT_4,                                                                      \
            LINK_LOCK_INIT_4                                                                       \
        }                                                                                          \
    }

static link_set leaf_link_sets[LEAF_LINK_SETS];
static link_set euicc_link_sets[EUICC_LINK_SETS];
static link_memo leaf_links = LINK_MEMO_INIT(leaf_link_sets);
static link_memo euicc_links = LINK_MEMO_INIT(euicc_link_sets);

/* Digests are uniformly distributed: a few of their bytes make a good set index. */
static size_t link_set_index(const link_memo *memo, const uint8_t subject[RSP_SHA256_SIZE],
                             const uint8_t issuer[RSP_SHA256_SIZE])
{
    uint32_t bits = 0;
    for (int i = 0; i < 4; i++)
        bits = (bits << 8) | (uint32_t)(subject[i] ^ issuer[i]);
    return bits % memo->set_count;
}

static bool link_set_holds(const link_set *set, const uint8_t subject[RSP_SHA256_SIZE],
                           const uint8_t issuer[RSP_SHA256_SIZE])
{
    for (size_t i = 0; i < set->used; i++)
        if (memcmp(set->ways[i].subject, subject, RSP_SHA256_SIZE) == 0 &&
            memcmp(set->ways[i].issuer, issuer, RSP_SHA256_SIZE) == 0)
            return true;
    return false;
}

static bool link_known(link_memo *memo, const uint8_t subject[RSP_SHA256_SIZE],
                       const uint8_t issuer[RSP_SHA256_SIZE])
{
    size_t index = link_set_index(memo, subject, issuer);
    pthread_mutex_t *lock = &memo->locks[index % LINK_LOCKS];
    pthread_mutex_lock(lock);
    bool known = link_set_holds(&memo->sets[index], subject, issuer);
    pthread_mutex_unlock(lock);
    if (known)
        atomic_fetch_add_explicit(&memo->hits, 1, memory_order_relaxed);
    return known;
}

/* Called only after the signature verified. */
static void link_remember(link_memo *memo, const uint8_t subject[RSP_SHA256_SIZE],
                          const uint8_t issuer[RSP_SHA256_SIZE])
{
    size_t index = link_set_index(memo, subject, issuer);
    pthread_mutex_t *lock = &memo->locks[index % LINK_LOCKS];
    link_set *set = &memo->sets[index];
    bool inserted = false;
    pthread_mutex_lock(lock);
    if (!link_set_holds(set, subject, issuer)) {
        link_entry *way = NULL;
        if (set->used < LINK_WAYS) {
            way = &set->ways[set->used++];
        } else {
            way = &set->ways[set->next];
            set->next = (uint8_t)((set->next + 1) % LINK_WAYS);
        }
        memcpy(way->subject, subject, RSP_SHA256_SIZE);
        memcpy(way->issuer, issuer, RSP_SHA256_SIZE);
        inserted = true;
    }
    pthread_mutex_unlock(lock);
    if (inserted)
        atomic_fetch_add_explicit(&memo->insertions, 1, memory_order_relaxed);
}

static void link_memo_figures(link_memo *memo, rsp_cert_link_memo_figures *out)
{
    memset(out, 0, sizeof *out);
    out->capacity = memo->set_count * LINK_WAYS;
    for (size_t i = 0; i < memo->set_count; i++) {
        pthread_mutex_t *lock = &memo->locks[i % LINK_LOCKS];
        pthread_mutex_lock(lock);
        out->entries += memo->sets[i].used;
        pthread_mutex_unlock(lock);
    }
    out->hits = atomic_load_explicit(&memo->hits, memory_order_relaxed);
    out->insertions = atomic_load_explicit(&memo->insertions, memory_order_relaxed);
}

void rsp_certificate_link_memo_figures(rsp_cert_link_memo_figures *leaf_figures,
                                       rsp_cert_link_memo_figures *euicc_figures)
{
    if (leaf_figures != NULL)
        link_memo_figures(&leaf_links, leaf_figures);
    if (euicc_figures != NULL)
        link_memo_figures(&euicc_links, euicc_figures);
}

rsp_status rsp_certificate_from_der_shared(const uint8_t *der, size_t len, rsp_certificate **out,
                                           rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    *out = NULL;
    if (der == NULL || len == 0 || len > MAX_FILE_SIZE)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "certificate: bad length");
    if (EVP_Digest(der, len, digest, NULL, EVP_sha256(), NULL) != 1)
        return openssl_failure(err, RSP_ERR_CRYPTO, "certificate digest");
    X509 *x509 = parsed_lookup(digest);
    if (x509 == NULL) {
        rsp_status status = rsp_certificate_from_der(der, len, out, err);
        if (status == RSP_OK)
            parsed_insert(digest, (*out)->x509);
        return status;
    }
    rsp_certificate *cert = calloc(1, sizeof *cert);
    uint8_t *copy = OPENSSL_malloc(len);
    if (cert == NULL || copy == NULL) {
        free(cert);
        OPENSSL_free(copy);
        X509_free(x509);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "certificate");
    }
    memcpy(copy, der, len);
    cert->x509 = x509;
    cert->der = copy;
    cert->der_len = len;
    memcpy(cert->digest, digest, sizeof digest);
    *out = cert;
    return RSP_OK;
}

/* ---- chain verification ---- */

typedef struct {
    int error;
    int depth;
    bool euicc_leaf;
} first_error;

/* OpenSSL applies RFC 5280 directoryName constraints (whole RDNs), while GSMA EUM constraints
 * mean "EID starts with serialNumber"; that rule is checked by check_eid_range instead, so the
 * RFC 5280 verdict is ignored for the eUICC only. CRLs are optional per issuer (options.crls).
 * Every other error fails, and the first one is kept for the report. */
static int verify_callback(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    first_error *first = X509_STORE_CTX_get_app_data(ctx);
    int error = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    if (error == X509_V_ERR_UNABLE_TO_GET_CRL ||
        (error == X509_V_ERR_PERMITTED_VIOLATION && depth == 0 && first->euicc_leaf))
        return 1;
    if (first->error == X509_V_OK) {
        first->error = error;
        first->depth = depth;
    }
    return 0;
}

static rsp_cert_failure failure_of(int error)
{
    switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return RSP_CERT_FAIL_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return RSP_CERT_FAIL_NOT_YET_VALID;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
        return RSP_CERT_FAIL_SIGNATURE;
    case X509_V_ERR_CERT_REVOKED:
        return RSP_CERT_FAIL_REVOKED;
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        return RSP_CERT_FAIL_CRL;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
        return RSP_CERT_FAIL_ROLE;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH:
    case X509_V_ERR_CERT_UNTRUSTED:
        return RSP_CERT_FAIL_ISSUER;
    default:
        return RSP_CERT_FAIL_OTHER;
    }
}

typedef struct {
    const rsp_certificate *leaf;
    rsp_cert_role role;
    const rsp_certificate *eum;
    const rsp_certificate *const *cis;
    size_t ci_count;
    const rsp_cert_verify_options *options;
    rsp_cert_verify_result *result;
    rsp_error *err;
} verify_job;

/* A verification without options uses the defaults; its result starts clean. */
static verify_job verify_job_make(const rsp_certificate *leaf, rsp_cert_role role,
                                  const rsp_certificate *eum, const rsp_certificate *const *cis,
                                  size_t ci_count, const rsp_cert_verify_options *options,
                                  rsp_cert_verify_result *result, rsp_error *err)
{
    static const rsp_cert_verify_options no_options = {0};
    verify_job job = {leaf, role, eum, cis, ci_count, options ? options : &no_options, result, err};
    memset(result, 0, sizeof *result);
    return job;
}

static rsp_status fail(verify_job *job, rsp_cert_failure failure, rsp_cert_role role)
{
    job->result->failure = failure;
    job->result->failed_role = role;
    return failure == RSP_CERT_FAIL_CI_UNKNOWN ? RSP_ERR_NOT_FOUND : RSP_ERR_VERIFY;
}

/* Role of the certificate at chain depth (0 = leaf). */
static rsp_cert_role role_at_depth(const verify_job *job, int depth)
{
    if (depth == 0)
        return job->role;
    if (job->role == RSP_CERT_ROLE_EUICC && depth == 1)
        return RSP_CERT_ROLE_EUM;
    return RSP_CERT_ROLE_CI;
}

static const rsp_certificate *ci_with_key_id(const verify_job *job, der_view key_id)
{
    der_view ci_key_id;
    for (size_t i = 0; i < job->ci_count; i++)
        if (rsp_certificate_subject_key_id(job->cis[i], &ci_key_id) == RSP_OK &&
            der_view_equal(ci_key_id, key_id))
            return job->cis[i];
    return NULL;
}

/* An issuer failure where a CI should sign means the CI is unknown when no CI of the store has
 * the authority key id. */
static bool ci_missing(const verify_job *job, int depth)
{
    int ci_signed_depth = job->role == RSP_CERT_ROLE_EUICC ? 1 : 0;
    const rsp_certificate *ci_signed = job->role == RSP_CERT_ROLE_EUICC ? job->eum : job->leaf;
    der_view key_id;
    return depth == ci_signed_depth &&
           (rsp_certificate_authority_key_id(ci_signed, &key_id) != RSP_OK ||
            ci_with_key_id(job, key_id) == NULL);
}

static rsp_status report_openssl_failure(verify_job *job, const first_error *first)
{
    rsp_cert_failure failure = failure_of(first->error);
    rsp_cert_role role = role_at_depth(job, first->depth);
    const char *name = rsp_cert_role_name(role);
    const char *reason = X509_verify_cert_error_string(first->error);
    if (failure == RSP_CERT_FAIL_ISSUER && ci_missing(job, first->depth)) {
        rsp_error_set(job->err, RSP_ERR_NOT_FOUND, 0, 0,
                      "%s certificate: CI unknown: no trusted CI matches its issuer (%s)", name,
                      reason);
        return fail(job, RSP_CERT_FAIL_CI_UNKNOWN, role);
    }
    switch (failure) {
    case RSP_CERT_FAIL_EXPIRED:
    case RSP_CERT_FAIL_NOT_YET_VALID:
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s (validity period)", name,
                      failure == RSP_CERT_FAIL_EXPIRED ? "expired" : "not yet valid");
        break;
    case RSP_CERT_FAIL_SIGNATURE:
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                      "%s certificate: signature does not verify with the issuer key", name);
        break;
    case RSP_CERT_FAIL_REVOKED:
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: revoked (CRL)", name);
        break;
    case RSP_CERT_FAIL_ISSUER:
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: wrong issuer: %s", name,
                      reason);
        break;
    default:
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s", name, reason);
        break;
    }
    return fail(job, failure, role);
}

static rsp_status run_openssl(verify_job *job, X509_STORE_CTX *ctx, const rsp_certificate **ci)
{
    first_error first = {X509_V_OK, 0, job->role == RSP_CERT_ROLE_EUICC};
    X509_STORE_CTX_set_app_data(ctx, &first);
    int verified = X509_verify_cert(ctx);
    if (verified != 1) {
        if (first.error == X509_V_OK) {
            first.error = X509_STORE_CTX_get_error(ctx);
            first.depth = X509_STORE_CTX_get_error_depth(ctx);
        }
        ERR_clear_error();
        return report_openssl_failure(job, &first);
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    for (size_t i = 0; i < job->ci_count; i++)
        if (X509_cmp(top, job->cis[i]->x509) == 0)
            *ci = job->cis[i];
    int expected_length = job->role == RSP_CERT_ROLE_EUICC ? 3 : 2;
    if (*ci == NULL || sk_X509_num(chain) != expected_length) {
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                      "%s certificate: wrong issuer: chain of %d certificates, expected %d",
                      rsp_cert_role_name(job->role), sk_X509_num(chain), expected_length);
        return fail(job, RSP_CERT_FAIL_ISSUER, job->role);
    }
    /* the leaf's signature verified with the key of the chain's second certificate */
    if (job->role == RSP_CERT_ROLE_EUICC && X509_cmp(sk_X509_value(chain, 1), job->eum->x509) == 0)
        link_remember(&euicc_links, job->leaf->digest, job->eum->digest);
    return RSP_OK;
}

static rsp_status openssl_chain(verify_job *job, const rsp_certificate **ci)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    rsp_status status = RSP_OK;
    bool ok = store && ctx && untrusted && crls;
    for (size_t i = 0; ok && i < job->ci_count; i++)
        ok = X509_STORE_add_cert(store, job->cis[i]->x509) == 1;
    if (ok && job->eum != NULL)
        ok = sk_X509_push(untrusted, job->eum->x509) > 0;
    for (size_t i = 0; ok && i < job->options->crl_count; i++)
        ok = sk_X509_CRL_push(crls, job->options->crls[i]->crl) > 0;
    ok = ok && X509_STORE_CTX_init(ctx, store, job->leaf->x509, untrusted) == 1;
    if (ok) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        unsigned long flags = 0;
        if (job->options->crl_count > 0)
            flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
        if (job->options->now == 0)
            flags |= X509_V_FLAG_NO_CHECK_TIME;
        else
            X509_VERIFY_PARAM_set_time(param, job->options->now);
        X509_VERIFY_PARAM_set_flags(param, flags);
        X509_STORE_CTX_set0_crls(ctx, crls);
        X509_STORE_CTX_set_verify_cb(ctx, verify_callback);
        status = run_openssl(job, ctx, ci);
    } else {
        status = openssl_failure(job->err, RSP_ERR_NO_MEMORY, "certificate verification setup");
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_CRL_free(crls);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    return status;
}

static rsp_status validity_failure(verify_job *job, rsp_cert_failure failure)
{
    rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s (validity period)",
                  rsp_cert_role_name(job->role),
                  failure == RSP_CERT_FAIL_EXPIRED ? "expired" : "not yet valid");
    return fail(job, failure, job->role);
}

/* A CI is a trust anchor: it must be one of the store (byte for byte). OpenSSL's chain builder
 * is not used here because it finds only the first trusted certificate of a subject name, and
 * SGP.26 gives the NIST and brainpool CIs the same name. */
static rsp_status verify_ci(verify_job *job, const rsp_certificate **ci)
{
    for (size_t i = 0; i < job->ci_count && *ci == NULL; i++)
        if (X509_cmp(job->leaf->x509, job->cis[i]->x509) == 0)
            *ci = job->cis[i];
    if (*ci == NULL) {
        rsp_error_set(job->err, RSP_ERR_NOT_FOUND, 0, 0,
                      "CI certificate: CI unknown: not in the trust store");
        return fail(job, RSP_CERT_FAIL_CI_UNKNOWN, RSP_CERT_ROLE_CI);
    }
    time_t now = job->options->now;
    if (now != 0 && X509_cmp_time(X509_get0_notBefore(job->leaf->x509), &now) > 0)
        return validity_failure(job, RSP_CERT_FAIL_NOT_YET_VALID);
    if (now != 0 && X509_cmp_time(X509_get0_notAfter(job->leaf->x509), &now) < 0)
        return validity_failure(job, RSP_CERT_FAIL_EXPIRED);
    return RSP_OK;
}

/* SGP.22 v2.5 section 4.5.2: "The Algorithm Identifiers of all certificates of a certificate
 * chain SHALL point to the same curve"; P-256 and brainpoolP256r1 are the curves supported. */
static rsp_status check_curves(verify_job *job, const rsp_certificate *ci)
{
    rsp_curve ci_curve = rsp_certificate_curve(ci);
    const rsp_certificate *chain[3] = {job->leaf, job->eum, ci};
    rsp_cert_role roles[3] = {job->role, RSP_CERT_ROLE_EUM, RSP_CERT_ROLE_CI};
    rsp_curve required = job->options->required_curve;
    for (int i = 0; i < 3; i++) {
        if (chain[i] == NULL)
            continue;
        rsp_curve curve = rsp_certificate_curve(chain[i]);
        const char *name = rsp_curve_name(curve);
        if (curve == RSP_CURVE_UNKNOWN) {
            rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                          "%s certificate: wrong curve: key is not on P-256 or brainpoolP256r1",
                          rsp_cert_role_name(roles[i]));
            return fail(job, RSP_CERT_FAIL_CURVE, roles[i]);
        }
        if (curve != ci_curve || (required != RSP_CURVE_UNKNOWN && curve != required)) {
            rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                          "%s certificate: wrong curve %s, expected %s",
                          rsp_cert_role_name(roles[i]), name,
                          rsp_curve_name(curve != ci_curve ? ci_curve : required));
            return fail(job, RSP_CERT_FAIL_CURVE, roles[i]);
        }
    }
    return RSP_OK;
}

static rsp_status check_allowed_ci(verify_job *job, const rsp_certificate *ci)
{
    der_view key_id;
    if (job->options->allowed_ci_id_count == 0)
        return RSP_OK;
    if (rsp_certificate_subject_key_id(ci, &key_id) == RSP_OK)
        for (size_t i = 0; i < job->options->allowed_ci_id_count; i++)
            if (der_view_equal(key_id, job->options->allowed_ci_ids[i]))
                return RSP_OK;
    rsp_error_set(job->err, RSP_ERR_NOT_FOUND, 0, 0,
                  "CI certificate: CI unknown: its key id is not in the allowed CI list");
    return fail(job, RSP_CERT_FAIL_CI_UNKNOWN, RSP_CERT_ROLE_CI);
}

static rsp_status static_checks(verify_job *job)
{
    char eid[RSP_EID_STRING_SIZE];
    if (check_profile(job->leaf, job->role, job->err) != RSP_OK)
        return fail(job, RSP_CERT_FAIL_ROLE, job->role);
    if (job->role == RSP_CERT_ROLE_EUICC && rsp_certificate_eid(job->leaf, eid, job->err) != RSP_OK)
        return fail(job, RSP_CERT_FAIL_EID, job->role);
    if (job->eum != NULL && check_profile(job->eum, RSP_CERT_ROLE_EUM, job->err) != RSP_OK)
        return fail(job, RSP_CERT_FAIL_ROLE, RSP_CERT_ROLE_EUM);
    return RSP_OK;
}

/* ---- eUICC under an EUM already verified ----
 * The EUM's signature by the CI is known from an earlier full verification of the same bytes
 * under the same CI bytes; everything else is checked again here, the way X509_verify_cert
 * would: issuer name and key identifiers, extensions, CRLs of both issuers (signature cached,
 * validity and revocation at each use), EUM and eUICC validity against the clock, and the
 * eUICC signature with the EUM key. CRLs with features beyond a plain list of revoked serials
 * (distribution point scope, delta CRLs, other critical extensions) are left to OpenSSL. */

static bool crl_is_plain(X509_CRL *crl)
{
    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *extension = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(extension));
        if (nid == NID_issuing_distribution_point || nid == NID_delta_crl ||
            (X509_EXTENSION_get_critical(extension) && nid != NID_crl_number &&
             nid != NID_authority_key_identifier))
            return false;
    }
    return true;
}

/* Whether the CRL's authority key id (when it has one) is the issuer's subject key id. */
static bool crl_key_id_matches(const rsp_crl *crl, const rsp_certificate *issuer)
{
    AUTHORITY_KEYID *akid =
        X509_CRL_get_ext_d2i(crl->crl, NID_authority_key_identifier, NULL, NULL);
    const ASN1_OCTET_STRING *subject_key_id = X509_get0_subject_key_id(issuer->x509);
    bool matches =
        akid == NULL || akid->keyid == NULL ||
        (subject_key_id != NULL && ASN1_OCTET_STRING_cmp(akid->keyid, subject_key_id) == 0);
    AUTHORITY_KEYID_free(akid);
    return matches;
}

/* The CRL OpenSSL would pick for issuer among the call's CRLs: same issuer name, preferring a
 * matching authority key id (SGP.26 gives the NIST and brainpool CIs one name), then the most
 * recent. NULL when none names the issuer. A CRL with the name but another key is still picked
 * when it is the only one, and then fails on its signature, as in the full verification. */
static const rsp_crl *crl_of(const verify_job *job, const rsp_certificate *issuer)
{
    const rsp_crl *best = NULL;
    bool best_matches = false;
    for (size_t i = 0; i < job->options->crl_count; i++) {
        const rsp_crl *crl = job->options->crls[i];
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl->crl), X509_get_subject_name(issuer->x509)) != 0)
            continue;
        bool matches = crl_key_id_matches(crl, issuer);
        if (best == NULL || (matches && !best_matches) ||
            (matches == best_matches &&
             ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl->crl),
                               X509_CRL_get0_lastUpdate(best->crl)) > 0)) {
            best = crl;
            best_matches = matches;
        }
    }
    return best;
}

/* Same wording as the full verification ("EUM certificate: CRL has expired"). */
static rsp_status crl_failure(verify_job *job, rsp_cert_role role, int openssl_error)
{
    rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s", rsp_cert_role_name(role),
                  X509_verify_cert_error_string(openssl_error));
    return fail(job, RSP_CERT_FAIL_CRL, role);
}

/* RFC 5280 section 6.3 up to the lookup: *crl is the issuer's CRL for the call (NULL when the
 * call has none), checked for key usage, signature and time. */
static rsp_status usable_crl(verify_job *job, const rsp_certificate *issuer, rsp_cert_role role,
                             const rsp_crl **out)
{
    const rsp_crl *crl = crl_of(job, issuer);
    *out = crl;
    if (crl == NULL)
        return RSP_OK; /* CRLs are optional per issuer */
    if ((X509_get_extension_flags(issuer->x509) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(issuer->x509) & KU_CRL_SIGN))
        return crl_failure(job, role, X509_V_ERR_KEYUSAGE_NO_CRL_SIGN);
    if (!signature_known(cache.crls, crl->digest, issuer->digest)) {
        if (X509_CRL_verify(crl->crl, X509_get0_pubkey(issuer->x509)) != 1) {
            ERR_clear_error();
            return crl_failure(job, role, X509_V_ERR_CRL_SIGNATURE_FAILURE);
        }
        signature_insert(cache.crls, &cache.crls_next, crl->digest, issuer->digest);
    }
    /* As X509_cmp_time: a nextUpdate equal to now has passed. */
    int64_t now = (int64_t)job->options->now;
    if (now != 0 && crl->last_update > now)
        return crl_failure(job, role, X509_V_ERR_CRL_NOT_YET_VALID);
    if (now != 0 && crl->has_next_update && crl->next_update <= now)
        return crl_failure(job, role, X509_V_ERR_CRL_HAS_EXPIRED);
    return RSP_OK;
}

/* RFC 5280 section 6.3 for one certificate against the CRL of its issuer, if the call has one. */
static rsp_status check_revocation(verify_job *job, const rsp_certificate *cert,
                                   const rsp_certificate *issuer, rsp_cert_role role)
{
    const rsp_crl *crl = NULL;
    rsp_status status = usable_crl(job, issuer, role, &crl);
    if (status != RSP_OK || crl == NULL)
        return status;
    X509_REVOKED *revoked = NULL;
    if (X509_CRL_get0_by_cert(crl->crl, &revoked, cert->x509) == 1) {
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: revoked (CRL)",
                      rsp_cert_role_name(role));
        return fail(job, RSP_CERT_FAIL_REVOKED, role);
    }
    return RSP_OK;
}

static rsp_status check_validity(verify_job *job, const rsp_certificate *cert, rsp_cert_role role)
{
    time_t now = job->options->now;
    rsp_cert_failure failure = RSP_CERT_OK;
    if (now != 0 && X509_cmp_time(X509_get0_notBefore(cert->x509), &now) > 0)
        failure = RSP_CERT_FAIL_NOT_YET_VALID;
    else if (now != 0 && X509_cmp_time(X509_get0_notAfter(cert->x509), &now) < 0)
        failure = RSP_CERT_FAIL_EXPIRED;
    if (failure == RSP_CERT_OK)
        return RSP_OK;
    rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s (validity period)",
                  rsp_cert_role_name(role),
                  failure == RSP_CERT_FAIL_EXPIRED ? "expired" : "not yet valid");
    return fail(job, failure, role);
}

static bool crls_are_plain(const verify_job *job)
{
    for (size_t i = 0; i < job->options->crl_count; i++)
        if (!job->options->crls[i]->plain)
            return false;
    return true;
}

/* SGP.22 v2.5 section 4.5.2: the eUICC link of the chain eUICC -> EUM -> CI. */
static rsp_status verify_under_cached_eum(verify_job *job, const rsp_certificate *ci)
{
    const rsp_certificate *leaf = job->leaf;
    const rsp_certificate *eum = job->eum;
    if (X509_check_issued(eum->x509, leaf->x509) != X509_V_OK) {
        /* the wording of the full verification, where OpenSSL finds no issuer */
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "eUICC certificate: wrong issuer: %s",
                      X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
        return fail(job, RSP_CERT_FAIL_ISSUER, RSP_CERT_ROLE_EUICC);
    }
    uint32_t flags = X509_get_extension_flags(leaf->x509);
    if (flags & (EXFLAG_INVALID | EXFLAG_CRITICAL)) {
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "eUICC certificate: %s",
                      (flags & EXFLAG_INVALID) ? "invalid or inconsistent certificate extension"
                                               : "unhandled critical extension");
        return fail(job, RSP_CERT_FAIL_OTHER, RSP_CERT_ROLE_EUICC);
    }
    /* leaf first, anchor last, like X509_V_FLAG_CRL_CHECK_ALL */
    rsp_status status = check_revocation(job, leaf, eum, RSP_CERT_ROLE_EUICC);
    if (status == RSP_OK)
        status = check_revocation(job, eum, ci, RSP_CERT_ROLE_EUM);
    if (status == RSP_OK)
        status = check_revocation(job, ci, ci, RSP_CERT_ROLE_CI);
    /* OpenSSL checks the validity of every certificate of the chain, the anchor included */
    if (status == RSP_OK)
        status = check_validity(job, ci, RSP_CERT_ROLE_CI);
    if (status == RSP_OK)
        status = check_validity(job, eum, RSP_CERT_ROLE_EUM);
    if (status != RSP_OK)
        return status;
    if (!(job->options->remember_euicc_link &&
          link_known(&euicc_links, leaf->digest, eum->digest))) {
        if (X509_verify(leaf->x509, X509_get0_pubkey(eum->x509)) != 1) {
            ERR_clear_error();
            rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                          "eUICC certificate: signature does not verify with the issuer key");
            return fail(job, RSP_CERT_FAIL_SIGNATURE, RSP_CERT_ROLE_EUICC);
        }
        link_remember(&euicc_links, leaf->digest, eum->digest);
    }
    return check_validity(job, leaf, RSP_CERT_ROLE_EUICC);
}

/* An anchor X509_verify_cert would accept as is: a CA without unhandled critical extensions
 * and without name constraints (which would apply to the leaf). */
static bool ci_is_plain(const rsp_certificate *ci)
{
    return X509_check_ca(ci->x509) != 0 &&
           !(X509_get_extension_flags(ci->x509) & (EXFLAG_INVALID | EXFLAG_CRITICAL)) &&
           X509_get_ext_by_NID(ci->x509, NID_name_constraints, -1) < 0;
}

/* The only CI of the store that issued leaf (names, key ids, key usage), or NULL when none or
 * several do (then OpenSSL chooses and reports). */
static const rsp_certificate *single_issuing_ci(const verify_job *job)
{
    const rsp_certificate *found = NULL;
    for (size_t i = 0; i < job->ci_count; i++) {
        if (X509_check_issued(job->cis[i]->x509, job->leaf->x509) != X509_V_OK)
            continue;
        if (found != NULL)
            return NULL;
        found = job->cis[i];
    }
    return found != NULL && ci_is_plain(found) ? found : NULL;
}

/* SGP.22 v2.5 section 4.5.2: a certificate the CI signs directly (SM-DP+, SM-DS, eIM), the
 * two-certificate chain checked the way X509_verify_cert does, without building a store:
 * extensions, revocation of the leaf and of the CI, validity of the CI and of the leaf, then
 * the signature with the CI key, unless these leaf bytes are remembered under these CI bytes. */
static rsp_status verify_under_ci(verify_job *job, const rsp_certificate *ci)
{
    const rsp_certificate *leaf = job->leaf;
    const char *name = rsp_cert_role_name(job->role);
    uint32_t flags = X509_get_extension_flags(leaf->x509);
    if (flags & (EXFLAG_INVALID | EXFLAG_CRITICAL)) {
        rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0, "%s certificate: %s", name,
                      (flags & EXFLAG_INVALID) ? "invalid or inconsistent certificate extension"
                                               : "unhandled critical extension");
        return fail(job, RSP_CERT_FAIL_OTHER, job->role);
    }
    rsp_status status = check_revocation(job, leaf, ci, job->role);
    if (status == RSP_OK)
        status = check_revocation(job, ci, ci, RSP_CERT_ROLE_CI);
    if (status == RSP_OK)
        status = check_validity(job, ci, RSP_CERT_ROLE_CI);
    if (status != RSP_OK)
        return status;
    if (!link_known(&leaf_links, leaf->digest, ci->digest)) {
        if (X509_verify(leaf->x509, X509_get0_pubkey(ci->x509)) != 1) {
            ERR_clear_error();
            rsp_error_set(job->err, RSP_ERR_VERIFY, 0, 0,
                          "%s certificate: signature does not verify with the issuer key", name);
            return fail(job, RSP_CERT_FAIL_SIGNATURE, job->role);
        }
        link_remember(&leaf_links, leaf->digest, ci->digest);
    }
    return check_validity(job, leaf, job->role);
}

/* The eUICC link alone when the EUM is cached, a CI-signed leaf without an OpenSSL store when
 * exactly one plain CI issued it, otherwise the full OpenSSL verification. */
static rsp_status verify_chain(verify_job *job, const rsp_certificate **ci)
{
    bool plain_crls = crls_are_plain(job);
    const rsp_certificate *cached_ci = job->role == RSP_CERT_ROLE_EUICC && plain_crls
                                           ? cached_eum_issuer(job->eum, job->cis, job->ci_count)
                                           : NULL;
    if (cached_ci != NULL) {
        *ci = cached_ci;
        return verify_under_cached_eum(job, cached_ci);
    }
    const rsp_certificate *issuer =
        job->role != RSP_CERT_ROLE_EUICC && plain_crls ? single_issuing_ci(job) : NULL;
    if (issuer != NULL) {
        *ci = issuer;
        return verify_under_ci(job, issuer);
    }
    rsp_status status = openssl_chain(job, ci);
    if (status == RSP_OK && job->role == RSP_CERT_ROLE_EUICC)
        signature_insert(cache.chains, &cache.chains_next, job->eum->digest, (*ci)->digest);
    return status;
}

/* SGP.22 v2.5 section 4.5.2: CI-rooted chains, one curve for every certificate of a chain. */
rsp_status rsp_certificate_verify(const rsp_certificate *leaf, rsp_cert_role role,
                                  const rsp_certificate *eum, const rsp_certificate *const *cis,
                                  size_t ci_count, const rsp_cert_verify_options *options,
                                  rsp_cert_verify_result *result, rsp_error *err)
{
    rsp_cert_verify_result local_result;
    verify_job job = verify_job_make(leaf, role, eum, cis, ci_count, options,
                                     result ? result : &local_result, err);
    const rsp_certificate *ci = NULL;
    if (leaf == NULL || (cis == NULL && ci_count > 0) || role <= RSP_CERT_ROLE_UNKNOWN ||
        role >= RSP_CERT_ROLE__COUNT || ((role == RSP_CERT_ROLE_EUICC) != (eum != NULL))) {
        job.result->failure = RSP_CERT_FAIL_OTHER;
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "certificate verify: leaf, role and EUM (for eUICC only) needed");
    }
    rsp_status status = static_checks(&job);
    if (status == RSP_OK && role == RSP_CERT_ROLE_CI)
        status = verify_ci(&job, &ci);
    else if (status == RSP_OK)
        status = verify_chain(&job, &ci);
    if (status == RSP_OK)
        status = check_allowed_ci(&job, ci);
    if (status == RSP_OK)
        status = check_curves(&job, ci);
    if (status == RSP_OK && eum != NULL && rsp_certificate_check_eid_range(eum, leaf, err))
        status = fail(&job, RSP_CERT_FAIL_EID_RANGE, RSP_CERT_ROLE_EUICC);
    if (status == RSP_OK)
        job.result->ci = ci;
    /* the verdict is in result and err; OpenSSL's queue from failed attempts must not leak
     * into the caller's next OpenSSL call (3.0 decoders read it) */
    ERR_clear_error();
    return status;
}

/* ---- eUICC certificates read without OpenSSL's X509 parser ----
 * OpenSSL 3.0 decodes the public key of every certificate it parses through its provider
 * decoders, which costs more than verifying the certificate's signature. An SM-DP+ sees each
 * eUICC certificate once per download, under an EUM it has verified before: the certificate is
 * read with the project's strict DER reader, and accepted when it has exactly the shape of the
 * SGP.22 eUICC profile and passes every check of the cached-EUM path above. Anything else
 * (another shape, an unknown extension, any failed check) goes through rsp_certificate_from_der
 * and rsp_certificate_verify, which give the verdict and its wording: this path only accepts. */

static const uint8_t oid_ecdsa_sha256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
static const uint8_t oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t oid_prime256v1[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const uint8_t oid_brainpool_p256r1[] = {0x2B, 0x24, 0x03, 0x03, 0x02,
                                               0x08, 0x01, 0x01, 0x07};
static const uint8_t oid_serial_number[] = {0x55, 0x04, 0x05};
static const uint8_t oid_organization[] = {0x55, 0x04, 0x0A};
/* id-rspRole 2.23.146.1.2.1 and id-rspRole-euicc 2.23.146.1.2.1.1 */
static const uint8_t oid_rsp_role_arc[] = {0x67, 0x81, 0x12, 0x01, 0x02, 0x01};
static const uint8_t oid_rsp_role_euicc[] = {0x67, 0x81, 0x12, 0x01, 0x02, 0x01, 0x01};
/* id-ce 2.5.29: the last arc names the extension */
static const uint8_t oid_id_ce[] = {0x55, 0x1D};

enum {
    EXTENSION_SUBJECT_KEY_ID = 14,
    EXTENSION_KEY_USAGE = 15,
    EXTENSION_BASIC_CONSTRAINTS = 19,
    EXTENSION_POLICIES = 32,
    EXTENSION_AUTHORITY_KEY_ID = 35,
};

typedef struct {
    der_view der;                   /* the whole certificate as received */
    der_view tbs;                   /* whole TBSCertificate: the signed bytes */
    der_view signature;             /* ECDSA-Sig-Value */
    der_view serial;                /* whole INTEGER */
    der_view issuer;                /* whole Name */
    der_view not_before, not_after; /* whole times */
    rsp_curve curve;
    der_view point; /* 04 || X || Y */
    der_view authority_key_id;
    char eid[RSP_EID_STRING_SIZE];
    char organization[65];
} euicc_fields;

static bool view_is(der_view view, const uint8_t *bytes, size_t len)
{
    return view.len == len && memcmp(view.data, bytes, len) == 0;
}

/* The next element, of any tag (tag 0) or of the given one. */
static bool next_element(der_reader *reader, uint32_t tag, der_tlv *out)
{
    rsp_error ignored = {0};
    return !der_reader_at_end(reader) && der_reader_next(reader, out, &ignored) == RSP_OK &&
           (tag == 0 || out->tag == tag);
}

static bool enter(const der_tlv *tlv, der_reader *reader)
{
    rsp_error ignored = {0};
    return der_reader_enter(tlv, 0, reader, &ignored) == RSP_OK;
}

/* AlgorithmIdentifier { ecdsa-with-SHA256 } without parameters (RFC 5758 section 3.2). */
static bool is_ecdsa_sha256(const der_tlv *algorithm)
{
    der_reader reader;
    der_tlv oid;
    return algorithm->tag == 0x30 && enter(algorithm, &reader) &&
           next_element(&reader, 0x06, &oid) &&
           view_is(oid.value, oid_ecdsa_sha256, sizeof oid_ecdsa_sha256) &&
           der_reader_at_end(&reader);
}

/* A string OpenSSL's name parser takes as it is: PrintableString or UTF8String of printable
 * ASCII. */
static bool plain_text(const der_tlv *value, char *out, size_t size)
{
    if ((value->tag != 0x13 && value->tag != 0x0C) || value->value.len >= size)
        return false;
    for (size_t i = 0; i < value->value.len; i++)
        if (value->value.data[i] < 0x20 || value->value.data[i] > 0x7E)
            return false;
    memcpy(out, value->value.data, value->value.len);
    out[value->value.len] = '\0';
    return true;
}

/* SGP.22 v2.5 section 4.5.2.1.0.2: the subject's serialNumber is the EID. Single-valued RDNs
 * of plain text only; the first serialNumber and the first O count, as for name_entry_text. */
static bool read_subject(const der_tlv *name, euicc_fields *fields)
{
    der_reader rdns;
    bool have_eid = false, have_organization = false;
    if (name->tag != 0x30 || !enter(name, &rdns))
        return false;
    while (!der_reader_at_end(&rdns)) {
        der_tlv rdn, attribute, type, value;
        der_reader in_rdn, in_attribute;
        char text[65];
        if (!next_element(&rdns, 0x31, &rdn) || !enter(&rdn, &in_rdn) ||
            !next_element(&in_rdn, 0x30, &attribute) || !der_reader_at_end(&in_rdn) ||
            !enter(&attribute, &in_attribute) || !next_element(&in_attribute, 0x06, &type) ||
            !next_element(&in_attribute, 0, &value) || !der_reader_at_end(&in_attribute) ||
            !plain_text(&value, text, sizeof text))
            return false;
        if (!have_eid && view_is(type.value, oid_serial_number, sizeof oid_serial_number)) {
            if (value.tag != 0x13 || !rsp_eid_is_valid(text))
                return false;
            memcpy(fields->eid, text, RSP_EID_STRING_SIZE);
            have_eid = true;
        } else if (!have_organization &&
                   view_is(type.value, oid_organization, sizeof oid_organization)) {
            memcpy(fields->organization, text, sizeof fields->organization);
            have_organization = true;
        }
    }
    return have_eid;
}

/* SubjectPublicKeyInfo { { id-ecPublicKey, named curve }, BIT STRING 00 04||X||Y }. */
static bool read_public_key(const der_tlv *info, euicc_fields *fields)
{
    der_reader in_info, in_algorithm;
    der_tlv algorithm, type, curve, key;
    if (info->tag != 0x30 || !enter(info, &in_info) || !next_element(&in_info, 0x30, &algorithm) ||
        !next_element(&in_info, 0x03, &key) || !der_reader_at_end(&in_info) ||
        !enter(&algorithm, &in_algorithm) || !next_element(&in_algorithm, 0x06, &type) ||
        !next_element(&in_algorithm, 0x06, &curve) || !der_reader_at_end(&in_algorithm) ||
        !view_is(type.value, oid_ec_public_key, sizeof oid_ec_public_key))
        return false;
    if (view_is(curve.value, oid_prime256v1, sizeof oid_prime256v1))
        fields->curve = RSP_CURVE_NIST_P256;
    else if (view_is(curve.value, oid_brainpool_p256r1, sizeof oid_brainpool_p256r1))
        fields->curve = RSP_CURVE_BRAINPOOL_P256R1;
    else
        return false;
    if (key.value.len != 1 + RSP_EC_POINT_SIZE || key.value.data[0] != 0)
        return false;
    fields->point = der_view_make(key.value.data + 1, RSP_EC_POINT_SIZE);
    return true;
}

/* One extension value of the eUICC profile (SGP.22 v2.5 section 4.5.2.1.0.2), checked the way
 * check_profile and X509_check_issued would. */
static bool read_extension(unsigned which, der_view value, euicc_fields *fields)
{
    der_tlv outer, item;
    der_reader reader;
    rsp_error ignored = {0};
    if (der_parse_single(value, &outer, &ignored) != RSP_OK)
        return false;
    switch (which) {
    case EXTENSION_SUBJECT_KEY_ID:
        return outer.tag == 0x04;
    case EXTENSION_AUTHORITY_KEY_ID: /* keyIdentifier only */
        if (outer.tag != 0x30 || !enter(&outer, &reader) || !next_element(&reader, 0x80, &item) ||
            !der_reader_at_end(&reader))
            return false;
        fields->authority_key_id = item.value;
        return true;
    case EXTENSION_KEY_USAGE: { /* digitalSignature, neither keyCertSign nor cRLSign */
        if (outer.tag != 0x03 || outer.value.len < 2 || outer.value.data[0] > 7)
            return false;
        uint32_t usage = outer.value.data[1];
        if (outer.value.len > 2)
            usage |= (uint32_t)outer.value.data[2] << 8;
        return (usage & KU_DIGITAL_SIGNATURE) && !(usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    }
    case EXTENSION_BASIC_CONSTRAINTS: /* an end entity: cA absent, no path length */
        return outer.tag == 0x30 && outer.value.len == 0;
    case EXTENSION_POLICIES: { /* exactly one id-rspRole policy, the eUICC's; no qualifiers */
        unsigned roles = 0;
        bool euicc = false;
        if (outer.tag != 0x30 || !enter(&outer, &reader))
            return false;
        while (!der_reader_at_end(&reader)) {
            der_tlv policy, oid;
            der_reader in_policy;
            if (!next_element(&reader, 0x30, &policy) || !enter(&policy, &in_policy) ||
                !next_element(&in_policy, 0x06, &oid) || !der_reader_at_end(&in_policy))
                return false;
            if (oid.value.len > sizeof oid_rsp_role_arc &&
                memcmp(oid.value.data, oid_rsp_role_arc, sizeof oid_rsp_role_arc) == 0) {
                roles++;
                euicc = view_is(oid.value, oid_rsp_role_euicc, sizeof oid_rsp_role_euicc);
            }
        }
        return roles == 1 && euicc;
    }
    default:
        return false;
    }
}

/* Extensions: only those of the eUICC profile, each at most once; key usage, policies and the
 * authority key id required. */
static bool read_extensions(const der_tlv *explicit_extensions, euicc_fields *fields)
{
    der_reader in_explicit, in_list;
    der_tlv list;
    uint64_t seen = 0;
    if (!enter(explicit_extensions, &in_explicit) || !next_element(&in_explicit, 0x30, &list) ||
        !der_reader_at_end(&in_explicit) || !enter(&list, &in_list))
        return false;
    while (!der_reader_at_end(&in_list)) {
        der_tlv extension, oid, item;
        der_reader in_extension;
        if (!next_element(&in_list, 0x30, &extension) || !enter(&extension, &in_extension) ||
            !next_element(&in_extension, 0x06, &oid) || oid.value.len != 3 ||
            memcmp(oid.value.data, oid_id_ce, sizeof oid_id_ce) != 0 ||
            !next_element(&in_extension, 0, &item))
            return false;
        unsigned which = oid.value.data[2];
        if (which >= 64 || (seen & ((uint64_t)1 << which)))
            return false;
        seen |= (uint64_t)1 << which;
        if (item.tag == 0x01) { /* critical: DER encodes only TRUE */
            if (item.value.len != 1 || item.value.data[0] != 0xFF ||
                !next_element(&in_extension, 0, &item))
                return false;
        }
        if (item.tag != 0x04 || !der_reader_at_end(&in_extension) ||
            !read_extension(which, item.value, fields))
            return false;
    }
    const uint64_t required = ((uint64_t)1 << EXTENSION_KEY_USAGE) |
                              ((uint64_t)1 << EXTENSION_POLICIES) |
                              ((uint64_t)1 << EXTENSION_AUTHORITY_KEY_ID);
    return (seen & required) == required;
}

/* Certificate { TBSCertificate v3, ecdsa-with-SHA256, signature } in the eUICC profile's shape.
 * The issuer and subject unique ids of v2 are not part of it. */
static bool read_euicc_certificate(der_view der, euicc_fields *fields)
{
    der_tlv certificate, tbs, algorithm, signature, version, integer, item;
    der_reader in_certificate, in_tbs, in_version;
    rsp_error ignored = {0};
    memset(fields, 0, sizeof *fields);
    fields->der = der;
    if (der_parse_single(der, &certificate, &ignored) != RSP_OK || certificate.tag != 0x30 ||
        !enter(&certificate, &in_certificate) || !next_element(&in_certificate, 0x30, &tbs) ||
        !next_element(&in_certificate, 0x30, &algorithm) ||
        !next_element(&in_certificate, 0x03, &signature) || !der_reader_at_end(&in_certificate) ||
        !is_ecdsa_sha256(&algorithm) || signature.value.len < 2 || signature.value.data[0] != 0)
        return false;
    fields->tbs = tbs.whole;
    fields->signature = der_view_make(signature.value.data + 1, signature.value.len - 1);
    if (!enter(&tbs, &in_tbs) || !next_element(&in_tbs, 0xA0, &version) ||
        !enter(&version, &in_version) || !next_element(&in_version, 0x02, &integer) ||
        !der_reader_at_end(&in_version) || integer.value.len != 1 || integer.value.data[0] != 2)
        return false;
    if (!next_element(&in_tbs, 0x02, &item))
        return false;
    fields->serial = item.whole;
    if (!next_element(&in_tbs, 0x30, &item) || !der_view_equal(item.whole, algorithm.whole))
        return false;
    if (!next_element(&in_tbs, 0x30, &item))
        return false;
    fields->issuer = item.whole;
    der_tlv validity, not_before, not_after;
    der_reader in_validity;
    if (!next_element(&in_tbs, 0x30, &validity) || !enter(&validity, &in_validity) ||
        !next_element(&in_validity, 0, &not_before) || !next_element(&in_validity, 0, &not_after) ||
        !der_reader_at_end(&in_validity) || (not_before.tag != 0x17 && not_before.tag != 0x18) ||
        (not_after.tag != 0x17 && not_after.tag != 0x18))
        return false;
    fields->not_before = not_before.whole;
    fields->not_after = not_after.whole;
    if (!next_element(&in_tbs, 0x30, &item) || !read_subject(&item, fields))
        return false;
    if (!next_element(&in_tbs, 0x30, &item) || !read_public_key(&item, fields))
        return false;
    return next_element(&in_tbs, 0xA3, &item) && der_reader_at_end(&in_tbs) &&
           read_extensions(&item, fields);
}

/* The issuer Name of the EUM's own TBSCertificate is not needed: its subject is. */
static bool certificate_subject(const rsp_certificate *cert, der_view *subject)
{
    der_tlv certificate, tbs, item;
    der_reader in_certificate, in_tbs;
    rsp_error ignored = {0};
    if (der_parse_single(der_view_make(cert->der, cert->der_len), &certificate, &ignored) !=
            RSP_OK ||
        !enter(&certificate, &in_certificate) || !next_element(&in_certificate, 0x30, &tbs) ||
        !enter(&tbs, &in_tbs))
        return false;
    if (der_reader_peek_tag(&in_tbs, &item.tag) && item.tag == 0xA0 &&
        !next_element(&in_tbs, 0xA0, &item))
        return false;
    for (int i = 0; i < 5; i++) /* serial, signature, issuer, validity, subject */
        if (!next_element(&in_tbs, 0, &item))
            return false;
    *subject = item.whole;
    return item.tag == 0x30;
}

/* X509_cmp_time on a DER time element; 0 when OpenSSL cannot read it. */
static int compare_time(der_view time_element, time_t now)
{
    const unsigned char *cursor = time_element.data;
    ASN1_TIME *when = d2i_ASN1_TIME(NULL, &cursor, (long)time_element.len);
    int order = when != NULL && ASN1_TIME_check(when) == 1 ? X509_cmp_time(when, &now) : 0;
    ASN1_TIME_free(when);
    return order;
}

/* The leaf's serial number is not on the EUM's CRL (any entry with it, as the CRL's only
 * issuer is the EUM: plain CRLs are not indirect). */
static bool leaf_not_revoked(verify_job *job, const euicc_fields *fields)
{
    const rsp_crl *crl = NULL;
    if (usable_crl(job, job->eum, RSP_CERT_ROLE_EUICC, &crl) != RSP_OK)
        return false;
    if (crl == NULL)
        return true;
    const unsigned char *cursor = fields->serial.data;
    ASN1_INTEGER *serial = d2i_ASN1_INTEGER(NULL, &cursor, (long)fields->serial.len);
    X509_REVOKED *revoked = NULL;
    bool listed = serial == NULL || X509_CRL_get0_by_serial(crl->crl, &revoked, serial) != 0;
    ASN1_INTEGER_free(serial);
    return !listed;
}

static bool signed_by(const euicc_fields *fields, EVP_PKEY *issuer_key)
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    bool verified = context != NULL && issuer_key != NULL &&
                    EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_EC &&
                    EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, issuer_key) == 1 &&
                    EVP_DigestVerify(context, fields->signature.data, fields->signature.len,
                                     fields->tbs.data, fields->tbs.len) == 1;
    EVP_MD_CTX_free(context);
    return verified;
}

/* The eUICC's signature by the EUM key, from the memo when the caller accepts remembered links
 * (the key is the SHA-256 of the exact certificate bytes the fields were read from). */
static bool euicc_link_verified(const verify_job *job, const euicc_fields *fields)
{
    const rsp_certificate *eum = job->eum;
    uint8_t digest[RSP_SHA256_SIZE];
    if (EVP_Digest(fields->der.data, fields->der.len, digest, NULL, EVP_sha256(), NULL) != 1)
        return signed_by(fields, X509_get0_pubkey(eum->x509));
    if (job->options->remember_euicc_link && link_known(&euicc_links, digest, eum->digest))
        return true;
    if (!signed_by(fields, X509_get0_pubkey(eum->x509)))
        return false;
    link_remember(&euicc_links, digest, eum->digest);
    return true;
}

/* What the fast path needs of an EUM that depends on its bytes only: its profile check and
 * its EID ranges, worked out once per EUM (they cost as much as the eUICC link's signature
 * check). */
typedef struct {
    bool used;
    uint8_t digest[RSP_SHA256_SIZE];
    bool usable; /* EUM profile passed, ranges readable and not empty */
    eid_ranges subtrees;
    eid_ranges permitted_eins;
} eum_facts;

#define EUM_FACTS_SLOTS 16

static struct {
    pthread_mutex_t lock;
    eum_facts slots[EUM_FACTS_SLOTS];
    size_t next;
} eum_facts_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void eum_facts_of(const rsp_certificate *eum, eum_facts *out)
{
    bool found = false;
    pthread_mutex_lock(&eum_facts_cache.lock);
    for (size_t i = 0; i < EUM_FACTS_SLOTS && !found; i++) {
        const eum_facts *slot = &eum_facts_cache.slots[i];
        if (slot->used && memcmp(slot->digest, eum->digest, RSP_SHA256_SIZE) == 0) {
            *out = *slot;
            found = true;
        }
    }
    pthread_mutex_unlock(&eum_facts_cache.lock);
    if (found)
        return;
    rsp_error scratch = {0};
    memset(out, 0, sizeof *out);
    out->used = true;
    memcpy(out->digest, eum->digest, RSP_SHA256_SIZE);
    collect_name_constraints(eum->x509, &out->subtrees);
    out->usable = check_profile(eum, RSP_CERT_ROLE_EUM, &scratch) == RSP_OK &&
                  collect_permitted_eins(eum->x509, &out->permitted_eins, &scratch) == RSP_OK &&
                  out->subtrees.count + out->permitted_eins.count > 0;
    pthread_mutex_lock(&eum_facts_cache.lock);
    eum_facts_cache.slots[eum_facts_cache.next] = *out;
    eum_facts_cache.next = (eum_facts_cache.next + 1) % EUM_FACTS_SLOTS;
    pthread_mutex_unlock(&eum_facts_cache.lock);
}

/* check_eid_in_eum_range on the EUM's cached ranges. */
static bool eid_in_eum_facts(const eum_facts *facts, const char *eid, const char *organization)
{
    return facts->usable &&
           (facts->subtrees.count == 0 || eid_in_ranges(&facts->subtrees, eid, organization)) &&
           (facts->permitted_eins.count == 0 ||
            eid_in_ranges(&facts->permitted_eins, eid, organization));
}

/* Every check of rsp_certificate_verify for an eUICC under a cached EUM (static_checks,
 * verify_under_cached_eum, check_allowed_ci, check_curves, the EID range), on fields. */
static bool euicc_checks_pass(verify_job *job, const euicc_fields *fields,
                              const rsp_certificate **ci_out)
{
    const rsp_certificate *eum = job->eum;
    const rsp_certificate *ci =
        crls_are_plain(job) ? cached_eum_issuer(eum, job->cis, job->ci_count) : NULL;
    const ASN1_OCTET_STRING *eum_key_id = X509_get0_subject_key_id(eum->x509);
    der_view eum_subject;
    time_t now = job->options->now;
    eum_facts facts;
    if (ci == NULL)
        return false;
    eum_facts_of(eum, &facts);
    if (!facts.usable || eum_key_id == NULL || !certificate_subject(eum, &eum_subject) ||
        !der_view_equal(eum_subject, fields->issuer) ||
        !view_is(fields->authority_key_id, ASN1_STRING_get0_data(eum_key_id),
                 (size_t)ASN1_STRING_length(eum_key_id)))
        return false;
    if (!leaf_not_revoked(job, fields) ||
        check_revocation(job, eum, ci, RSP_CERT_ROLE_EUM) != RSP_OK ||
        check_revocation(job, ci, ci, RSP_CERT_ROLE_CI) != RSP_OK ||
        check_validity(job, ci, RSP_CERT_ROLE_CI) != RSP_OK ||
        check_validity(job, eum, RSP_CERT_ROLE_EUM) != RSP_OK)
        return false;
    if (now != 0 &&
        (compare_time(fields->not_before, now) >= 0 || compare_time(fields->not_after, now) <= 0))
        return false;
    rsp_curve ci_curve = rsp_certificate_curve(ci);
    rsp_curve required = job->options->required_curve;
    if (fields->curve != ci_curve || rsp_certificate_curve(eum) != ci_curve ||
        (required != RSP_CURVE_UNKNOWN && ci_curve != required) ||
        check_allowed_ci(job, ci) != RSP_OK ||
        !eid_in_eum_facts(&facts, fields->eid, fields->organization))
        return false;
    if (!euicc_link_verified(job, fields))
        return false;
    *ci_out = ci;
    return true;
}

/* The fast path; false sends the caller to the full one. */
static bool euicc_fast_path(der_view der, verify_job *job, rsp_euicc_identity *out)
{
    euicc_fields fields;
    const rsp_certificate *ci = NULL;
    rsp_error scratch = {0};
    rsp_cert_verify_result scratch_result = {0};
    verify_job checks = *job;
    checks.err = &scratch;
    checks.result = &scratch_result;
    if (!read_euicc_certificate(der, &fields) || !euicc_checks_pass(&checks, &fields, &ci) ||
        rsp_public_key_from_point(fields.curve, fields.point.data, fields.point.len, &out->key,
                                  &scratch) != RSP_OK) {
        ERR_clear_error();
        return false;
    }
    memcpy(out->eid, fields.eid, sizeof out->eid);
    job->result->ci = ci;
    job->result->read_without_x509 = true;
    return true;
}

/* The full path: OpenSSL's parser, rsp_certificate_verify, EID and key. */
static rsp_status euicc_full_path(der_view der, verify_job *job, rsp_euicc_identity *out)
{
    rsp_certificate *leaf = NULL;
    rsp_status status = rsp_certificate_from_der(der.data, der.len, &leaf, job->err);
    if (status != RSP_OK) {
        job->result->failure = RSP_CERT_FAIL_OTHER;
        job->result->failed_role = RSP_CERT_ROLE_EUICC;
        return status;
    }
    status = rsp_certificate_verify(leaf, RSP_CERT_ROLE_EUICC, job->eum, job->cis, job->ci_count,
                                    job->options, job->result, job->err);
    if (status == RSP_OK)
        status = rsp_certificate_eid(leaf, out->eid, job->err);
    if (status == RSP_OK)
        status = rsp_certificate_public_key(leaf, &out->key, job->err);
    if (status != RSP_OK && job->result->failure == RSP_CERT_OK) {
        job->result->failure = RSP_CERT_FAIL_EID;
        job->result->failed_role = RSP_CERT_ROLE_EUICC;
    }
    rsp_certificate_free(leaf);
    return status;
}

rsp_status rsp_euicc_certificate_verify(der_view euicc_der, const rsp_certificate *eum,
                                        const rsp_certificate *const *cis, size_t ci_count,
                                        const rsp_cert_verify_options *options,
                                        rsp_cert_verify_result *result, rsp_euicc_identity *out,
                                        rsp_error *err)
{
    rsp_cert_verify_result local_result;
    verify_job job = verify_job_make(NULL, RSP_CERT_ROLE_EUICC, eum, cis, ci_count, options,
                                     result ? result : &local_result, err);
    memset(out, 0, sizeof *out);
    if (eum == NULL || (cis == NULL && ci_count > 0) || euicc_der.data == NULL) {
        job.result->failure = RSP_CERT_FAIL_OTHER;
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "eUICC certificate verify: certificate and EUM needed");
    }
    if (euicc_fast_path(euicc_der, &job, out))
        return RSP_OK;
    return euicc_full_path(euicc_der, &job, out);
}

rsp_status rsp_ci_select(const rsp_certificate *const *cis, size_t ci_count, const der_view *ids,
                         size_t id_count, const rsp_certificate **selected, rsp_error *err)
{
    der_view key_id;
    *selected = NULL;
    for (size_t i = 0; i < id_count; i++)
        for (size_t j = 0; j < ci_count; j++)
            if (rsp_certificate_subject_key_id(cis[j], &key_id) == RSP_OK &&
                der_view_equal(key_id, ids[i])) {
                *selected = cis[j];
                return RSP_OK;
            }
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0,
                         "CI unknown: none of the %zu CI key ids names a trusted CI", id_count);
}

/* ---- CRLs ---- */

/* An ASN.1 time as seconds since 1970 (UTC), by OpenSSL's own calendar arithmetic. */
static bool asn1_time_seconds(const ASN1_TIME *when, int64_t *out)
{
    int days = 0, seconds = 0;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    bool ok = epoch != NULL && when != NULL && ASN1_TIME_diff(&days, &seconds, epoch, when) == 1;
    ASN1_TIME_free(epoch);
    if (ok)
        *out = (int64_t)days * 86400 + seconds;
    return ok;
}

rsp_status rsp_crl_from_x509(X509_CRL *crl, rsp_crl **out, rsp_error *err)
{
    *out = NULL;
    if (crl == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no CRL");
    rsp_crl *wrapper = calloc(1, sizeof *wrapper);
    if (wrapper == NULL || !X509_CRL_up_ref(crl)) {
        free(wrapper);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "CRL");
    }
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    bool digested =
        len > 0 && EVP_Digest(der, (size_t)len, wrapper->digest, NULL, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    wrapper->crl = crl;
    if (!digested) {
        rsp_crl_free(wrapper);
        return openssl_failure(err, RSP_ERR_CRYPTO, "CRL encoding");
    }
    const ASN1_TIME *next_update = X509_CRL_get0_nextUpdate(crl);
    wrapper->plain = crl_is_plain(crl);
    wrapper->has_next_update = next_update != NULL;
    if (!asn1_time_seconds(X509_CRL_get0_lastUpdate(crl), &wrapper->last_update) ||
        (next_update != NULL && !asn1_time_seconds(next_update, &wrapper->next_update))) {
        rsp_crl_free(wrapper);
        ERR_clear_error();
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "CRL: thisUpdate or nextUpdate unreadable");
    }
    *out = wrapper;
    return RSP_OK;
}

rsp_status rsp_crl_load(const uint8_t *data, size_t len, rsp_crl **out, rsp_error *err)
{
    *out = NULL;
    if (data == NULL || len == 0 || len > MAX_FILE_SIZE)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "CRL: bad length");
    X509_CRL *crl = NULL;
    if (looks_like_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const unsigned char *cursor = data;
        crl = d2i_X509_CRL(NULL, &cursor, (long)len);
        if (crl != NULL && (size_t)(cursor - data) != len) {
            X509_CRL_free(crl);
            return rsp_error_set(err, RSP_ERR_TRAILING, 0, 0, "CRL: bytes after the CRL");
        }
    }
    if (crl == NULL)
        return openssl_failure(err, RSP_ERR_BAD_VALUE, "CRL: not a CRL");
    rsp_status status = rsp_crl_from_x509(crl, out, err);
    X509_CRL_free(crl);
    return status;
}

rsp_status rsp_crl_load_file(const char *path, rsp_crl **out, rsp_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    rsp_status status = read_file(path, &data, &len, err);
    if (status == RSP_OK)
        status = rsp_crl_load(data, len, out, err);
    free(data);
    return status;
}

void rsp_crl_free(rsp_crl *crl)
{
    if (crl == NULL)
        return;
    X509_CRL_free(crl->crl);
    free(crl);
}

X509_CRL *rsp_crl_x509(const rsp_crl *crl)
{
    return crl->crl;
}

rsp_status rsp_crl_write_der_file(const rsp_crl *crl, const char *path, rsp_error *err)
{
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl->crl, &der);
    if (len <= 0)
        return openssl_failure(err, RSP_ERR_CRYPTO, "CRL encoding");
    rsp_status status = write_bytes(path, der, (size_t)len, err);
    OPENSSL_free(der);
    return status;
}

rsp_status rsp_crl_write_pem_file(const rsp_crl *crl, const char *path, rsp_error *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || !PEM_write_bio_X509_CRL(bio, crl->crl)) {
        BIO_free(bio);
        return openssl_failure(err, RSP_ERR_CRYPTO, "CRL PEM encoding");
    }
    char *pem = NULL;
    long len = BIO_get_mem_data(bio, &pem);
    rsp_status status = write_bytes(path, (const uint8_t *)pem, (size_t)len, err);
    BIO_free(bio);
    return status;
}
