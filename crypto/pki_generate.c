#include "crypto/pki_generate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/der.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"

#define DAY_SECONDS  (24 * 3600)
#define YEAR_SECONDS (365 * DAY_SECONDS)
#define CRL_URI      "URI:http://ci.rspkit.test/CRL_CI.der"
#define EIDS_FILE    "eids.txt"
#define README_FILE  "README.txt"
#define EUICC_FOLDER "euicc"

/* SGP.26-shaped defaults per role. SGP.26 names test entities with subjectAltName
 * registeredID values from the 2.999 example arc; we do the same. */
typedef struct {
    const char *common_name;
    const char *organization;
    const char *basic_constraints;
    const char *key_usage;
    const char *extended_key_usage;
    const char *policy;
    const char *registered_id;
    int validity_years; /* 0: no expiry (99991231235959Z) */
} role_profile;

static const role_profile profiles[RSP_CERT_ROLE__COUNT] = {
    [RSP_CERT_ROLE_CI] = {"rspkit Test CI", "RSPKIT", "critical,CA:true",
                          "critical,keyCertSign,cRLSign", "", "critical," RSP_OID_RSP_ROLE ".0",
                          "RID:2.999.1", 35},
    [RSP_CERT_ROLE_EUM] = {"rspkit Test EUM", "RSPKIT EUM", "critical,CA:true,pathlen:0",
                           "critical,keyCertSign", "", "critical," RSP_OID_RSP_ROLE ".2",
                           "RID:2.999.5", 30},
    [RSP_CERT_ROLE_EUICC] = {"rspkit Test eUICC", "RSPKIT EUM", NULL, "critical,digitalSignature",
                             "", "critical," RSP_OID_RSP_ROLE ".1", NULL, 0},
    [RSP_CERT_ROLE_DP_TLS] = {"localhost", "RSPKIT", NULL, "critical,digitalSignature",
                              "critical,serverAuth,clientAuth", RSP_OID_RSP_ROLE ".3",
                              "RID:2.999.10", 2},
    [RSP_CERT_ROLE_DP_AUTH] = {"rspkit Test SM-DP+", "RSPKIT", NULL, "critical,digitalSignature",
                               "", "critical," RSP_OID_RSP_ROLE ".4", "RID:2.999.10", 10},
    [RSP_CERT_ROLE_DP_PB] = {"rspkit Test SM-DP+", "RSPKIT", NULL, "critical,digitalSignature", "",
                             "critical," RSP_OID_RSP_ROLE ".5", "RID:2.999.10", 10},
    [RSP_CERT_ROLE_DS_TLS] = {"localhost", "RSPKIT", NULL, "critical,digitalSignature",
                              "critical,serverAuth,clientAuth", RSP_OID_RSP_ROLE ".6",
                              "RID:2.999.15", 2},
    [RSP_CERT_ROLE_DS_AUTH] = {"rspkit Test SM-DS", "RSPKIT", NULL, "critical,digitalSignature", "",
                               "critical," RSP_OID_RSP_ROLE ".7", "RID:2.999.15", 10},
    [RSP_CERT_ROLE_EIM] = {"rspkit Test eIM", "RSPKIT", NULL, "critical,digitalSignature", "", "",
                           NULL, 10},
    [RSP_CERT_ROLE_EIM_TLS] = {"localhost", "RSPKIT", NULL, "critical,digitalSignature",
                               "serverAuth", "", NULL, 2},
};

static const char *or_default(const char *value, const char *fallback)
{
    return value != NULL ? value : fallback;
}

/* ---- certificate issuing ---- */

/* Extensions are given in OpenSSL's configuration syntax; some parsers (certificatePolicies)
 * insist on a configuration database even when the text does not reference a section, so an
 * empty one is supplied. */
static bool add_text_extension(X509 *x509, X509V3_CTX *ctx, int nid, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return true;
    CONF *conf = NCONF_new(NULL);
    if (conf == NULL)
        return false;
    X509V3_set_nconf(ctx, conf);
    X509_EXTENSION *extension = X509V3_EXT_nconf_nid(conf, ctx, nid, value);
    NCONF_free(conf);
    bool ok = extension != NULL && X509_add_ext(x509, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    return ok;
}

/* SGP.22 v2.5 section 4.5.2.1.0.3: permittedSubtrees directoryName {O, serialNumber=prefix}. */
static bool add_name_constraints(X509 *x509, const char *organization, const char *prefix)
{
    NAME_CONSTRAINTS *constraints = NAME_CONSTRAINTS_new();
    GENERAL_SUBTREE *subtree = GENERAL_SUBTREE_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = constraints && subtree && name;
    if (ok && organization[0] != '\0')
        ok = X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                        (const unsigned char *)organization, -1, -1, 0) == 1;
    ok = ok && X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_ASC,
                                          (const unsigned char *)prefix, -1, -1, 0) == 1;
    if (ok) {
        GENERAL_NAME_set0_value(subtree->base, GEN_DIRNAME, name);
        name = NULL;
        constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
        ok = constraints->permittedSubtrees != NULL &&
             sk_GENERAL_SUBTREE_push(constraints->permittedSubtrees, subtree) > 0;
        if (ok)
            subtree = NULL;
    }
    ok = ok &&
         X509_add1_ext_i2d(x509, NID_name_constraints, constraints, 1, X509V3_ADD_DEFAULT) == 1;
    X509_NAME_free(name);
    GENERAL_SUBTREE_free(subtree);
    NAME_CONSTRAINTS_free(constraints);
    return ok;
}

/* SGP.22 v3.1 section 4.5.2.1.0.3: PermittedEins ::= SEQUENCE OF PrintableString, added
 * non-critical next to the v2 nameConstraints so verifiers of either version find the range. */
static bool add_permitted_eins(X509 *x509, const char *prefix)
{
    uint8_t buffer[64];
    der_writer writer;
    der_writer_init_fixed(&writer, buffer, sizeof buffer);
    size_t mark = der_begin(&writer, 0x30);
    der_put_tlv(&writer, 0x13, (const uint8_t *)prefix, strlen(prefix));
    der_end(&writer, mark);
    if (der_writer_status(&writer) != RSP_OK)
        return false;
    der_view encoded = der_writer_view(&writer);
    ASN1_OBJECT *oid = OBJ_txt2obj(RSP_OID_PERMITTED_EINS, 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    X509_EXTENSION *extension = NULL;
    bool ok = oid && value && ASN1_OCTET_STRING_set(value, encoded.data, (int)encoded.len) == 1;
    if (ok)
        extension = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value);
    ok = ok && extension != NULL && X509_add_ext(x509, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(oid);
    return ok;
}

static bool add_name_entry(X509_NAME *name, int nid, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return true;
    int type = nid == NID_serialNumber || nid == NID_countryName ? MBSTRING_ASC : MBSTRING_UTF8;
    return X509_NAME_add_entry_by_NID(name, nid, type, (const unsigned char *)value, -1, -1, 0) ==
           1;
}

static bool build_subject(X509 *x509, const rsp_pki_certificate_request *request,
                          const role_profile *profile)
{
    X509_NAME *name = X509_NAME_new();
    bool ok = name != NULL;
    if (request->role == RSP_CERT_ROLE_CI) {
        ok = ok && add_name_entry(name, NID_commonName,
                                  or_default(request->common_name, profile->common_name));
        ok = ok && add_name_entry(name, NID_organizationalUnitName, "TESTCERT");
        ok = ok && add_name_entry(name, NID_organizationName,
                                  or_default(request->organization, profile->organization));
    } else {
        ok = ok && add_name_entry(name, NID_organizationName,
                                  or_default(request->organization, profile->organization));
        ok = ok && add_name_entry(name, NID_commonName,
                                  or_default(request->common_name, profile->common_name));
        ok = ok && add_name_entry(name, NID_serialNumber, request->eid);
    }
    ok = ok && X509_set_subject_name(x509, name) == 1;
    X509_NAME_free(name);
    return ok;
}

static bool set_serial(X509 *x509)
{
    uint8_t random[8];
    uint64_t serial = 0;
    if (rsp_random_bytes(random, sizeof random) != RSP_OK)
        return false;
    for (size_t i = 0; i < sizeof random; i++)
        serial = (serial << 8) | random[i];
    serial = (serial >> 1) | 1; /* positive and non-zero */
    ASN1_INTEGER *integer = ASN1_INTEGER_new();
    bool ok = integer && ASN1_INTEGER_set_uint64(integer, serial) == 1 &&
              X509_set_serialNumber(x509, integer) == 1;
    ASN1_INTEGER_free(integer);
    return ok;
}

static bool set_validity(X509 *x509, const rsp_pki_certificate_request *request)
{
    time_t not_before = request->not_before ? request->not_before : time(NULL);
    ASN1_TIME *start = ASN1_TIME_set(NULL, not_before);
    ASN1_TIME *end = ASN1_TIME_new();
    bool ok = start && end;
    if (ok && request->not_after != 0)
        ok = ASN1_TIME_set(end, request->not_after) != NULL;
    else if (ok)
        ok = ASN1_TIME_set_string(end, "99991231235959Z") == 1;
    ok = ok && X509_set1_notBefore(x509, start) == 1 && X509_set1_notAfter(x509, end) == 1;
    ASN1_TIME_free(start);
    ASN1_TIME_free(end);
    return ok;
}

static bool build_alt_names(const rsp_pki_certificate_request *request, const role_profile *profile,
                            char *text, size_t size)
{
    int len =
        snprintf(text, size, "%s%s%s%s%s%s%s", request->dns_name ? "DNS:" : "",
                 request->dns_name ? request->dns_name : "",
                 request->dns_name && (request->ip_address || profile->registered_id) ? "," : "",
                 request->ip_address ? "IP:" : "", request->ip_address ? request->ip_address : "",
                 request->ip_address && profile->registered_id ? "," : "",
                 profile->registered_id ? profile->registered_id : "");
    return len >= 0 && (size_t)len < size;
}

static bool add_extensions(X509 *x509, X509 *issuer, const rsp_pki_certificate_request *request,
                           const role_profile *profile)
{
    X509V3_CTX ctx;
    char alt_names[256];
    X509V3_set_ctx(&ctx, issuer, x509, NULL, NULL, 0);
    bool ok = add_text_extension(x509, &ctx, NID_basic_constraints, profile->basic_constraints);
    ok = ok && add_text_extension(x509, &ctx, NID_key_usage,
                                  or_default(request->key_usage, profile->key_usage));
    ok = ok &&
         add_text_extension(x509, &ctx, NID_ext_key_usage,
                            or_default(request->extended_key_usage, profile->extended_key_usage));
    ok = ok && add_text_extension(x509, &ctx, NID_certificate_policies,
                                  or_default(request->policy, profile->policy));
    ok = ok && add_text_extension(x509, &ctx, NID_subject_key_identifier, "hash");
    if (issuer != x509)
        ok = ok && add_text_extension(x509, &ctx, NID_authority_key_identifier, "keyid:always");
    ok = ok && build_alt_names(request, profile, alt_names, sizeof alt_names) &&
         add_text_extension(x509, &ctx, NID_subject_alt_name, alt_names);
    if (request->role != RSP_CERT_ROLE_EUICC)
        ok = ok && add_text_extension(x509, &ctx, NID_crl_distribution_points, CRL_URI);
    if (request->role == RSP_CERT_ROLE_EUM) {
        const char *prefix = or_default(request->eid_prefix, RSP_PKI_DEFAULT_EID_PREFIX);
        const char *organization =
            or_default(request->eid_organization, profiles[RSP_CERT_ROLE_EUICC].organization);
        ok = ok && add_name_constraints(x509, organization, prefix) &&
             add_permitted_eins(x509, prefix);
    }
    return ok;
}

/* ---- signing through the key interface ---- */

/* Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING signature } (the CRL has the
 * same outer shape): the TBS bytes are signed with key and the SEQUENCE re-encoded. */
static rsp_status assemble_signed(der_view tbs, const X509_ALGOR *algorithm,
                                  const rsp_private_key *key, uint8_t **out, size_t *out_len,
                                  rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    uint8_t plain[RSP_EC_SIGNATURE_SIZE];
    uint8_t signature[RSP_ECDSA_DER_MAX];
    size_t signature_len = 0;
    unsigned char *algorithm_der = NULL;
    int algorithm_len = i2d_X509_ALGOR(algorithm, &algorithm_der);
    const uint8_t *parts[1] = {tbs.data};
    size_t lens[1] = {tbs.len};
    rsp_status status = algorithm_len > 0 ? rsp_sha256(parts, lens, 1, digest) : RSP_ERR_CRYPTO;
    if (status == RSP_OK)
        status = rsp_private_key_sign_digest(key, digest, plain);
    if (status == RSP_OK)
        status = rsp_ecdsa_signature_to_der(rsp_private_key_curve(key), plain, sizeof plain,
                                            signature, sizeof signature, &signature_len, err);
    if (status == RSP_OK) {
        static const uint8_t no_unused_bits = 0;
        der_writer writer;
        der_writer_init_dynamic(&writer, NULL);
        size_t outer = der_begin(&writer, 0x30);
        der_put_raw(&writer, tbs.data, tbs.len);
        der_put_raw(&writer, algorithm_der, (size_t)algorithm_len);
        size_t bits = der_begin(&writer, 0x03);
        der_put_raw(&writer, &no_unused_bits, 1);
        der_put_raw(&writer, signature, signature_len);
        der_end(&writer, bits);
        der_end(&writer, outer);
        status = der_writer_status(&writer);
        *out = status == RSP_OK ? der_writer_take(&writer, out_len) : NULL;
        der_writer_free(&writer);
    }
    OPENSSL_free(algorithm_der);
    return status == RSP_OK
               ? RSP_OK
               : rsp_error_set(err, status, 0, 0, "signing with the issuer key failed");
}

/* OpenSSL can only sign with an EVP_PKEY and has no setter for the signature fields, so a key
 * without one (an HSM behind rsp_private_key_ops) first lets a throwaway key of the same curve
 * sign, which fills both AlgorithmIdentifiers; the TBS bytes are then signed again with the
 * real key. */
static rsp_status sign_certificate(X509 **x509, const rsp_private_key *key, rsp_error *err)
{
    EVP_PKEY *evp = rsp_private_key_evp(key);
    if (evp != NULL)
        return X509_sign(*x509, evp, EVP_sha256()) > 0
                   ? RSP_OK
                   : rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "X509_sign failed");
    rsp_private_key *throwaway = NULL;
    unsigned char *tbs = NULL;
    uint8_t *signed_der = NULL;
    size_t signed_len = 0;
    const X509_ALGOR *algorithm = NULL;
    rsp_status status = rsp_private_key_generate(rsp_private_key_curve(key), &throwaway, err);
    int tbs_len = -1;
    if (status == RSP_OK && X509_sign(*x509, rsp_private_key_evp(throwaway), EVP_sha256()) > 0)
        tbs_len = i2d_re_X509_tbs(*x509, &tbs);
    if (status == RSP_OK && tbs_len <= 0)
        status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "certificate TBS encoding failed");
    if (status == RSP_OK) {
        X509_get0_signature(NULL, &algorithm, *x509);
        status = assemble_signed(der_view_make(tbs, (size_t)tbs_len), algorithm, key, &signed_der,
                                 &signed_len, err);
    }
    if (status == RSP_OK) {
        const unsigned char *cursor = signed_der;
        X509 *reparsed = d2i_X509(NULL, &cursor, (long)signed_len);
        if (reparsed == NULL)
            status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "re-signed certificate unreadable");
        else {
            X509_free(*x509);
            *x509 = reparsed;
        }
    }
    free(signed_der);
    OPENSSL_free(tbs);
    rsp_private_key_free(throwaway);
    return status;
}

/* The same for a CRL. */
static rsp_status sign_crl(X509_CRL **crl, const rsp_private_key *key, rsp_error *err)
{
    EVP_PKEY *evp = rsp_private_key_evp(key);
    if (evp != NULL)
        return X509_CRL_sign(*crl, evp, EVP_sha256()) > 0
                   ? RSP_OK
                   : rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "X509_CRL_sign failed");
    rsp_private_key *throwaway = NULL;
    unsigned char *tbs = NULL;
    uint8_t *signed_der = NULL;
    size_t signed_len = 0;
    const X509_ALGOR *algorithm = NULL;
    rsp_status status = rsp_private_key_generate(rsp_private_key_curve(key), &throwaway, err);
    int tbs_len = -1;
    if (status == RSP_OK && X509_CRL_sign(*crl, rsp_private_key_evp(throwaway), EVP_sha256()) > 0)
        tbs_len = i2d_re_X509_CRL_tbs(*crl, &tbs);
    if (status == RSP_OK && tbs_len <= 0)
        status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "CRL TBS encoding failed");
    if (status == RSP_OK) {
        X509_CRL_get0_signature(*crl, NULL, &algorithm);
        status = assemble_signed(der_view_make(tbs, (size_t)tbs_len), algorithm, key, &signed_der,
                                 &signed_len, err);
    }
    if (status == RSP_OK) {
        const unsigned char *cursor = signed_der;
        X509_CRL *reparsed = d2i_X509_CRL(NULL, &cursor, (long)signed_len);
        if (reparsed == NULL)
            status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "re-signed CRL unreadable");
        else {
            X509_CRL_free(*crl);
            *crl = reparsed;
        }
    }
    free(signed_der);
    OPENSSL_free(tbs);
    rsp_private_key_free(throwaway);
    return status;
}

static rsp_status check_request(const rsp_pki_certificate_request *request, rsp_error *err)
{
    if (request == NULL || request->role <= RSP_CERT_ROLE_UNKNOWN ||
        request->role >= RSP_CERT_ROLE__COUNT || request->subject_key == NULL ||
        request->issuer_key == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "certificate request: role, subject key and issuer key needed");
    if (request->role == RSP_CERT_ROLE_EUICC && !rsp_eid_is_valid(request->eid))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "certificate request: eUICC needs a valid 32-digit EID");
    return RSP_OK;
}

rsp_status rsp_pki_issue_certificate(const rsp_pki_certificate_request *request,
                                     rsp_certificate **out, rsp_error *err)
{
    *out = NULL;
    rsp_status status = check_request(request, err);
    if (status != RSP_OK)
        return status;
    const role_profile *profile = &profiles[request->role];
    X509 *x509 = X509_new();
    X509 *issuer = request->issuer ? rsp_certificate_x509(request->issuer) : x509;
    bool ok = x509 != NULL && X509_set_version(x509, X509_VERSION_3) == 1 && set_serial(x509) &&
              build_subject(x509, request, profile) &&
              X509_set_issuer_name(x509, X509_get_subject_name(issuer)) == 1 &&
              set_validity(x509, request) &&
              X509_set_pubkey(x509, rsp_public_key_evp(request->subject_key)) == 1 &&
              add_extensions(x509, issuer, request, profile);
    if (!ok)
        status = rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "building the %s certificate failed",
                               rsp_cert_role_name(request->role));
    if (status == RSP_OK)
        status = sign_certificate(&x509, request->issuer_key, err);
    if (status == RSP_OK)
        status = rsp_certificate_from_x509(x509, out, err);
    X509_free(x509);
    return status;
}

/* ---- CRL ---- */

static bool add_revoked(X509_CRL *crl, const rsp_certificate *cert, const ASN1_TIME *when)
{
    X509_REVOKED *entry = X509_REVOKED_new();
    bool ok = entry != NULL &&
              X509_REVOKED_set_serialNumber(
                  entry, (ASN1_INTEGER *)X509_get0_serialNumber(rsp_certificate_x509(cert))) == 1 &&
              X509_REVOKED_set_revocationDate(entry, (ASN1_TIME *)when) == 1 &&
              X509_CRL_add0_revoked(crl, entry) == 1;
    if (!ok)
        X509_REVOKED_free(entry);
    return ok;
}

static bool add_crl_extensions(X509_CRL *crl, X509 *ci, time_t this_update)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ci, NULL, NULL, crl, 0);
    X509_EXTENSION *key_id =
        X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    bool ok = key_id && number && X509_CRL_add_ext(crl, key_id, -1) == 1 &&
              ASN1_INTEGER_set_int64(number, (int64_t)this_update) == 1 &&
              X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, X509V3_ADD_DEFAULT) == 1;
    X509_EXTENSION_free(key_id);
    ASN1_INTEGER_free(number);
    return ok;
}

rsp_status rsp_pki_issue_crl(const rsp_certificate *ci, const rsp_private_key *ci_key,
                             const rsp_certificate *const *revoked, size_t revoked_count,
                             time_t this_update, time_t next_update, rsp_crl **out, rsp_error *err)
{
    *out = NULL;
    if (ci == NULL || ci_key == NULL || (revoked == NULL && revoked_count > 0) ||
        next_update <= this_update)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "CRL: CI, its key and next_update > this_update needed");
    X509 *issuer = rsp_certificate_x509(ci);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, this_update);
    ASN1_TIME *next = ASN1_TIME_set(NULL, next_update);
    bool ok = crl && last && next && X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) == 1 &&
              X509_CRL_set1_lastUpdate(crl, last) == 1 && X509_CRL_set1_nextUpdate(crl, next) == 1;
    for (size_t i = 0; ok && i < revoked_count; i++)
        ok = add_revoked(crl, revoked[i], last);
    ok = ok && X509_CRL_sort(crl) == 1 && add_crl_extensions(crl, issuer, this_update);
    rsp_status status = ok ? sign_crl(&crl, ci_key, err)
                           : rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "building the CRL failed");
    if (status == RSP_OK)
        status = rsp_crl_from_x509(crl, out, err);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return status;
}

/* ---- files ---- */

static rsp_status join(char *out, size_t size, const char *a, const char *b, rsp_error *err)
{
    int len = snprintf(out, size, "%s/%s", a, b);
    if (len < 0 || (size_t)len >= size)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "path too long: %s/%s", a, b);
    return RSP_OK;
}

static rsp_status make_dir(const char *path, rsp_error *err)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return RSP_OK;
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s: %s", path, strerror(errno));
}

static bool exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

/* stem + suffix into name; a name that does not fit is an error, never a silent cut. */
static rsp_status file_name(char *name, size_t size, const char *stem, const char *suffix,
                            rsp_error *err)
{
    size_t stem_length = strlen(stem);
    size_t suffix_length = strlen(suffix);
    if (stem_length + suffix_length >= size)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "file name too long: %s%s",
                             stem, suffix);
    memcpy(name, stem, stem_length);
    memcpy(name + stem_length, suffix, suffix_length + 1);
    return RSP_OK;
}

static rsp_status write_certificate(const char *folder, const char *stem,
                                    const rsp_certificate *cert, rsp_error *err)
{
    char path[PATH_MAX];
    char name[NAME_MAX];
    rsp_status status = file_name(name, sizeof name, stem, ".pem", err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, name, err);
    if (status == RSP_OK)
        status = rsp_certificate_write_pem_file(cert, path, err);
    if (status == RSP_OK)
        status = file_name(name, sizeof name, stem, ".der", err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, name, err);
    if (status == RSP_OK)
        status = rsp_certificate_write_der_file(cert, path, err);
    return status;
}

/* A freshly keyed certificate, written as CERT_<stem>.{pem,der} and SK_<stem>.pem. */
typedef struct {
    rsp_private_key *key;
    rsp_certificate *cert;
} issued_entity;

static void issued_entity_free(issued_entity *entity)
{
    rsp_private_key_free(entity->key);
    rsp_certificate_free(entity->cert);
    entity->key = NULL;
    entity->cert = NULL;
}

static rsp_status issue_entity(const char *folder, const char *stem, rsp_curve curve,
                               rsp_pki_certificate_request *request, issued_entity *out,
                               rsp_error *err)
{
    rsp_public_key *public_key = NULL;
    char name[NAME_MAX];
    char path[PATH_MAX];
    out->key = NULL;
    out->cert = NULL;
    rsp_status status = rsp_private_key_generate(curve, &out->key, err);
    if (status == RSP_OK)
        status = rsp_private_key_public(out->key, &public_key, err);
    if (status == RSP_OK) {
        request->subject_key = public_key;
        if (request->issuer_key == NULL)
            request->issuer_key = out->key; /* self-signed CI */
        status = rsp_pki_issue_certificate(request, &out->cert, err);
    }
    snprintf(name, sizeof name, "CERT_%s", stem);
    if (status == RSP_OK)
        status = write_certificate(folder, name, out->cert, err);
    snprintf(name, sizeof name, "SK_%s.pem", stem);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, name, err);
    if (status == RSP_OK)
        status = rsp_private_key_write_pem_file(out->key, path, err);
    rsp_public_key_free(public_key);
    if (status != RSP_OK)
        issued_entity_free(out);
    return status;
}

static rsp_pki_certificate_request request_for(rsp_cert_role role, const issued_entity *issuer,
                                               time_t now)
{
    rsp_pki_certificate_request request = {.role = role};
    request.issuer = issuer ? issuer->cert : NULL;
    request.issuer_key = issuer ? issuer->key : NULL;
    request.not_before = now - 60; /* tolerate a peer clock slightly behind */
    if (profiles[role].validity_years > 0)
        request.not_after = now + (time_t)profiles[role].validity_years * YEAR_SECONDS;
    return request;
}

/* ---- EID book (eids.txt) ---- */

typedef struct {
    char prefix[RSP_EID_STRING_SIZE];
    char next[RSP_EID_STRING_SIZE];
    char (*issued)[RSP_EID_STRING_SIZE];
    size_t count;
} eid_book;

static void eid_book_free(eid_book *book)
{
    free(book->issued);
    book->issued = NULL;
    book->count = 0;
}

static rsp_status eid_book_first(eid_book *book, const char *prefix, rsp_error *err)
{
    size_t len = strlen(prefix);
    char digits[RSP_EID_DIGITS - 1];
    if (len < 2 || len > RSP_EID_DIGITS - 4 || strspn(prefix, "0123456789") != len)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "EID prefix '%s': 2 to 28 decimal digits expected", prefix);
    memset(digits, '0', sizeof digits - 1);
    digits[sizeof digits - 1] = '\0';
    memcpy(digits, prefix, len);
    digits[RSP_EID_DIGITS - 3] = '1';
    strcpy(book->prefix, prefix);
    return rsp_eid_complete(digits, book->next);
}

/* The EID after book->next within the prefix range. */
static rsp_status eid_book_advance(eid_book *book, rsp_error *err)
{
    char digits[RSP_EID_DIGITS - 1];
    size_t prefix_len = strlen(book->prefix);
    memcpy(digits, book->next, RSP_EID_DIGITS - 2);
    digits[RSP_EID_DIGITS - 2] = '\0';
    size_t position = RSP_EID_DIGITS - 2;
    while (position > prefix_len && digits[position - 1] == '9')
        digits[--position] = '0';
    if (position == prefix_len)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "EID range %s exhausted", book->prefix);
    digits[position - 1]++;
    return rsp_eid_complete(digits, book->next);
}

static rsp_status eid_book_add(eid_book *book, const char *eid, rsp_error *err)
{
    char(*grown)[RSP_EID_STRING_SIZE] = realloc(book->issued, (book->count + 1) * sizeof *grown);
    if (grown == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "EID list");
    book->issued = grown;
    memcpy(book->issued[book->count++], eid, RSP_EID_STRING_SIZE);
    return RSP_OK;
}

static rsp_status eid_book_read(const char *dir, eid_book *book, rsp_error *err)
{
    char path[PATH_MAX];
    char line[128];
    char key[16];
    char value[64];
    memset(book, 0, sizeof *book);
    rsp_status status = join(path, sizeof path, dir, EIDS_FILE, err);
    FILE *file = status == RSP_OK ? fopen(path, "r") : NULL;
    if (status == RSP_OK && file == NULL)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s: no test PKI here (run init)", path);
    while (status == RSP_OK && fgets(line, sizeof line, file) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%15s %63s", key, value) != 2)
            status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s: bad line '%s'", path, line);
        else if (strcmp(key, "prefix") == 0 && strlen(value) <= RSP_EID_DIGITS - 4)
            strcpy(book->prefix, value);
        else if (strcmp(key, "next") == 0 && rsp_eid_is_valid(value))
            strcpy(book->next, value);
        else if (strcmp(key, "issued") == 0 && rsp_eid_is_valid(value))
            status = eid_book_add(book, value, err);
        else
            status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s: bad line '%s'", path, line);
    }
    if (file != NULL)
        fclose(file);
    if (status == RSP_OK && (book->prefix[0] == '\0' || book->next[0] == '\0' ||
                             strncmp(book->next, book->prefix, strlen(book->prefix)) != 0))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s: prefix/next missing", path);
    if (status != RSP_OK)
        eid_book_free(book);
    return status;
}

/* Written to a temporary file and renamed, so an interrupted run never leaves half a list. */
static rsp_status eid_book_write(const char *dir, const eid_book *book, rsp_error *err)
{
    char path[PATH_MAX];
    char temporary[PATH_MAX];
    rsp_status status = join(path, sizeof path, dir, EIDS_FILE, err);
    if (status == RSP_OK)
        status = join(temporary, sizeof temporary, dir, EIDS_FILE ".tmp", err);
    FILE *file = status == RSP_OK ? fopen(temporary, "w") : NULL;
    if (status == RSP_OK && file == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", temporary);
    if (status != RSP_OK)
        return status;
    fprintf(file,
            "# rspkit test PKI: EIDs (SGP.29 check digits) in the EUM range.\n"
            "# 'next' is the next unused EID; 'rspkit pki euicc DIR --count N' issues more.\n");
    fprintf(file, "prefix %s\nnext %s\n", book->prefix, book->next);
    for (size_t i = 0; i < book->count; i++)
        fprintf(file, "issued %s\n", book->issued[i]);
    bool ok = fclose(file) == 0;
    if (!ok || rename(temporary, path) != 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
    return RSP_OK;
}

/* ---- README.txt ---- */

typedef struct {
    char **paths; /* relative to the walked root */
    size_t count;
} file_list;

static int compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int select_visible(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

static bool is_directory(const char *path)
{
    struct stat info;
    return lstat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

/* Appends every regular file under root/relative (relative "" for root itself). */
static rsp_status list_files(const char *root, const char *relative, file_list *list,
                             rsp_error *err)
{
    char folder[PATH_MAX];
    char child[PATH_MAX];
    char child_path[PATH_MAX];
    struct dirent **entries = NULL;
    snprintf(folder, sizeof folder, "%s%s%s", root, relative[0] ? "/" : "", relative);
    int count = scandir(folder, &entries, select_visible, compare_names);
    if (count < 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot list %s", folder);
    rsp_status status = RSP_OK;
    for (int i = 0; i < count; i++) {
        int len = snprintf(child, sizeof child, "%s%s%s", relative, relative[0] ? "/" : "",
                           entries[i]->d_name);
        if (status == RSP_OK && (len < 0 || (size_t)len >= sizeof child))
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "path too long in %s", folder);
        if (status == RSP_OK)
            status = join(child_path, sizeof child_path, root, child, err);
        if (status == RSP_OK && is_directory(child_path)) {
            status = list_files(root, child, list, err);
        } else if (status == RSP_OK) {
            char **grown = realloc(list->paths, (list->count + 1) * sizeof *grown);
            if (grown != NULL)
                list->paths = grown;
            if (grown == NULL || (grown[list->count] = strdup(child)) == NULL)
                status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "file list");
            else
                list->count++;
        }
        free(entries[i]);
    }
    free(entries);
    return status;
}

/* Removes path and everything below it. */
static rsp_status remove_tree(const char *path, rsp_error *err)
{
    file_list list = {NULL, 0};
    char child[PATH_MAX];
    rsp_status status = list_files(path, "", &list, err);
    for (size_t i = 0; i < list.count; i++) {
        if (status == RSP_OK && join(child, sizeof child, path, list.paths[i], err) == RSP_OK &&
            unlink(child) != 0)
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot remove %s", child);
        free(list.paths[i]);
    }
    free(list.paths);
    /* Directories are empty now: remove them deepest first (euicc/ then the curve folder). */
    if (status == RSP_OK && join(child, sizeof child, path, EUICC_FOLDER, err) == RSP_OK &&
        is_directory(child))
        rmdir(child);
    if (status == RSP_OK && rmdir(path) != 0)
        status =
            rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot remove %s: %s", path, strerror(errno));
    return status;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *describe_file(const char *path)
{
    static const struct {
        const char *fragment;
        const char *text;
    } table[] = {
        {README_FILE, "this index"},
        {EIDS_FILE, "EID prefix, next unused EID, EIDs issued"},
        {"CRL_CI", "CRL signed by the CI (no revoked certificate)"},
        {"CERT_CI_", "CI root certificate, self-signed (id-rspRole-ci)"},
        {"SK_CI_", "CI private key"},
        {"CERT_EUM_", "EUM certificate (id-rspRole-eum), EID range in nameConstraints"},
        {"SK_EUM_", "EUM private key"},
        {"CERT_EUICC_", "eUICC certificate for the EID in its name (id-rspRole-euicc)"},
        {"SK_EUICC_", "eUICC private key"},
        {"CERT_S_SM_DPauth", "SM-DP+ authentication certificate (id-rspRole-dp-auth)"},
        {"SK_S_SM_DPauth", "SM-DP+ authentication private key"},
        {"CERT_S_SM_DPpb", "SM-DP+ profile binding certificate (id-rspRole-dp-pb)"},
        {"SK_S_SM_DPpb", "SM-DP+ profile binding private key"},
        {"CERT_S_SM_DP_TLS", "SM-DP+ TLS server certificate, localhost/127.0.0.1 (dp-tls)"},
        {"SK_S_SM_DP_TLS", "SM-DP+ TLS private key"},
        {"CERT_EIM_ECDSA", "eIM signing certificate (eUICC packages)"},
        {"SK_EIM_ECDSA", "eIM signing private key"},
        {"CERT_EIM_TLS", "eIM TLS server certificate, localhost/127.0.0.1"},
        {"SK_EIM_TLS", "eIM TLS private key"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strstr(path, table[i].fragment) != NULL)
            return table[i].text;
    return "";
}

static rsp_status write_readme(const char *dir, rsp_error *err)
{
    char path[PATH_MAX];
    file_list list = {NULL, 0};
    rsp_status status = join(path, sizeof path, dir, README_FILE, err);
    FILE *file = status == RSP_OK ? fopen(path, "w") : NULL;
    if (status == RSP_OK && file == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", path);
    if (status != RSP_OK)
        return status;
    fclose(file); /* listed too, so it exists during the walk */
    status = list_files(dir, "", &list, err);
    if (list.count > 0)
        qsort(list.paths, list.count, sizeof *list.paths, compare_paths);
    file = status == RSP_OK ? fopen(path, "w") : NULL;
    if (status == RSP_OK && file == NULL)
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
    if (file != NULL) {
        fprintf(file,
                "rspkit test PKI shaped like GSMA SGP.26 (NOT for production).\n"
                "nist/ = NIST P-256, brainpool/ = brainpoolP256r1; certificates in PEM and DER,\n"
                "private keys in PKCS#8 PEM. Check with: rspkit pki verify DIR\n\n");
        for (size_t i = 0; i < list.count; i++)
            fprintf(file, "%-64s %s\n", list.paths[i], describe_file(list.paths[i]));
        if (fclose(file) != 0)
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
    }
    for (size_t i = 0; i < list.count; i++)
        free(list.paths[i]);
    free(list.paths);
    return status;
}

/* ---- init / add ---- */

static const struct {
    unsigned flag;
    rsp_curve curve;
    const char *folder;
} curve_folders[] = {
    {RSP_PKI_CURVE_NIST, RSP_CURVE_NIST_P256, "nist"},
    {RSP_PKI_CURVE_BRAINPOOL, RSP_CURVE_BRAINPOOL_P256R1, "brainpool"},
};
#define CURVE_FOLDER_COUNT (sizeof curve_folders / sizeof curve_folders[0])

static rsp_status issue_servers(const char *folder, rsp_curve curve, const issued_entity *ci,
                                time_t now, rsp_error *err)
{
    static const struct {
        rsp_cert_role role;
        const char *stem;
    } servers[] = {
        {RSP_CERT_ROLE_DP_AUTH, "S_SM_DPauth_ECDSA"}, {RSP_CERT_ROLE_DP_PB, "S_SM_DPpb_ECDSA"},
        {RSP_CERT_ROLE_DP_TLS, "S_SM_DP_TLS"},        {RSP_CERT_ROLE_EIM, "EIM_ECDSA"},
        {RSP_CERT_ROLE_EIM_TLS, "EIM_TLS"},
    };
    rsp_status status = RSP_OK;
    for (size_t i = 0; status == RSP_OK && i < sizeof servers / sizeof servers[0]; i++) {
        issued_entity entity;
        rsp_pki_certificate_request request = request_for(servers[i].role, ci, now);
        if (servers[i].role == RSP_CERT_ROLE_DP_TLS || servers[i].role == RSP_CERT_ROLE_EIM_TLS) {
            request.dns_name = "localhost";
            request.ip_address = "127.0.0.1";
        }
        status = issue_entity(folder, servers[i].stem, curve, &request, &entity, err);
        issued_entity_free(&entity);
    }
    return status;
}

static rsp_status issue_empty_crl(const char *folder, const issued_entity *ci, time_t now,
                                  rsp_error *err)
{
    rsp_crl *crl = NULL;
    char path[PATH_MAX];
    rsp_status status = rsp_pki_issue_crl(
        ci->cert, ci->key, NULL, 0, now - 60,
        now + (time_t)profiles[RSP_CERT_ROLE_CI].validity_years * YEAR_SECONDS, &crl, err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, "CRL_CI.pem", err);
    if (status == RSP_OK)
        status = rsp_crl_write_pem_file(crl, path, err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, "CRL_CI.der", err);
    if (status == RSP_OK)
        status = rsp_crl_write_der_file(crl, path, err);
    rsp_crl_free(crl);
    return status;
}

static rsp_status init_curve(const char *dir, size_t index, const char *eid_prefix, time_t now,
                             rsp_error *err)
{
    char folder[PATH_MAX];
    char euicc_folder[PATH_MAX];
    issued_entity ci = {0};
    issued_entity eum = {0};
    rsp_curve curve = curve_folders[index].curve;
    rsp_status status = join(folder, sizeof folder, dir, curve_folders[index].folder, err);
    if (status == RSP_OK)
        status = make_dir(folder, err);
    if (status == RSP_OK)
        status = join(euicc_folder, sizeof euicc_folder, folder, EUICC_FOLDER, err);
    if (status == RSP_OK)
        status = make_dir(euicc_folder, err);
    rsp_pki_certificate_request request = request_for(RSP_CERT_ROLE_CI, NULL, now);
    if (status == RSP_OK)
        status = issue_entity(folder, "CI_ECDSA", curve, &request, &ci, err);
    request = request_for(RSP_CERT_ROLE_EUM, &ci, now);
    request.eid_prefix = eid_prefix;
    if (status == RSP_OK)
        status = issue_entity(folder, "EUM_ECDSA", curve, &request, &eum, err);
    if (status == RSP_OK)
        status = issue_servers(folder, curve, &ci, now, err);
    if (status == RSP_OK)
        status = issue_empty_crl(folder, &ci, now, err);
    issued_entity_free(&ci);
    issued_entity_free(&eum);
    return status;
}

/* Removes only what rsp_pki_init creates, never unrelated files of dir. */
static rsp_status remove_pki(const char *dir, rsp_error *err)
{
    char path[PATH_MAX];
    static const char *const files[] = {EIDS_FILE, README_FILE};
    for (size_t i = 0; i < CURVE_FOLDER_COUNT; i++) {
        if (join(path, sizeof path, dir, curve_folders[i].folder, err) != RSP_OK)
            return err ? err->code : RSP_ERR_INVALID_ARGUMENT;
        if (exists(path) && remove_tree(path, err) != RSP_OK)
            return err ? err->code : RSP_ERR_IO;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (join(path, sizeof path, dir, files[i], err) == RSP_OK && exists(path))
            unlink(path);
    return RSP_OK;
}

static bool pki_present(const char *dir)
{
    char path[PATH_MAX];
    const char *names[] = {EIDS_FILE, curve_folders[0].folder, curve_folders[1].folder};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path && exists(path))
            return true;
    return false;
}

rsp_status rsp_pki_init(const char *dir, const rsp_pki_options *options, rsp_error *err)
{
    rsp_pki_options defaults = {0};
    const rsp_pki_options *opts = options ? options : &defaults;
    unsigned curves = opts->curves ? opts->curves : RSP_PKI_CURVE_BOTH;
    time_t now = opts->now ? opts->now : time(NULL);
    eid_book book = {0};
    if (dir == NULL || (curves & ~RSP_PKI_CURVE_BOTH) != 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "pki init: bad arguments");
    if (pki_present(dir) && !opts->force)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0,
                             "%s already holds a test PKI; refusing to overwrite it (use --force "
                             "to replace it)",
                             dir);
    rsp_status status =
        eid_book_first(&book, or_default(opts->eid_prefix, RSP_PKI_DEFAULT_EID_PREFIX), err);
    if (status == RSP_OK)
        status = make_dir(dir, err);
    if (status == RSP_OK && opts->force)
        status = remove_pki(dir, err);
    for (size_t i = 0; status == RSP_OK && i < CURVE_FOLDER_COUNT; i++)
        if (curves & curve_folders[i].flag)
            status = init_curve(dir, i, book.prefix, now, err);
    if (status == RSP_OK)
        status = eid_book_write(dir, &book, err);
    if (status == RSP_OK)
        status = rsp_pki_add_euiccs(dir, opts->euicc_count, now, err);
    eid_book_free(&book);
    return status;
}

/* The EUM of one curve folder, loaded to issue eUICC certificates. */
typedef struct {
    bool present;
    char euicc_folder[PATH_MAX];
    issued_entity eum;
} curve_issuer;

static rsp_status load_curve_issuer(const char *dir, size_t index, curve_issuer *issuer,
                                    rsp_error *err)
{
    char folder[PATH_MAX];
    char path[PATH_MAX];
    memset(issuer, 0, sizeof *issuer);
    rsp_status status = join(folder, sizeof folder, dir, curve_folders[index].folder, err);
    if (status != RSP_OK || !exists(folder))
        return status;
    issuer->present = true;
    status = join(issuer->euicc_folder, sizeof issuer->euicc_folder, folder, EUICC_FOLDER, err);
    if (status == RSP_OK)
        status = make_dir(issuer->euicc_folder, err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, "CERT_EUM_ECDSA.der", err);
    if (status == RSP_OK)
        status = rsp_certificate_load_file(path, &issuer->eum.cert, err);
    if (status == RSP_OK)
        status = join(path, sizeof path, folder, "SK_EUM_ECDSA.pem", err);
    if (status == RSP_OK)
        status = rsp_private_key_load_file(path, &issuer->eum.key, err);
    return status;
}

rsp_status rsp_pki_add_euiccs(const char *dir, unsigned count, time_t now, rsp_error *err)
{
    eid_book book;
    curve_issuer issuers[CURVE_FOLDER_COUNT];
    memset(issuers, 0, sizeof issuers);
    if (now == 0)
        now = time(NULL);
    rsp_status status = eid_book_read(dir, &book, err);
    if (status != RSP_OK)
        return status;
    bool any = false;
    for (size_t i = 0; status == RSP_OK && i < CURVE_FOLDER_COUNT; i++) {
        status = load_curve_issuer(dir, i, &issuers[i], err);
        any = any || issuers[i].present;
    }
    if (status == RSP_OK && !any)
        status = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s: no nist/ or brainpool/", dir);
    for (unsigned n = 0; status == RSP_OK && n < count; n++) {
        char stem[64];
        snprintf(stem, sizeof stem, "EUICC_ECDSA_%s", book.next);
        for (size_t i = 0; status == RSP_OK && i < CURVE_FOLDER_COUNT; i++) {
            if (!issuers[i].present)
                continue;
            issued_entity euicc;
            rsp_pki_certificate_request request =
                request_for(RSP_CERT_ROLE_EUICC, &issuers[i].eum, now);
            request.eid = book.next;
            status = issue_entity(issuers[i].euicc_folder, stem, curve_folders[i].curve, &request,
                                  &euicc, err);
            issued_entity_free(&euicc);
        }
        if (status == RSP_OK)
            status = eid_book_add(&book, book.next, err);
        if (status == RSP_OK)
            status = eid_book_advance(&book, err);
    }
    /* The list is written even after a failure so that issued EIDs are never issued twice. */
    rsp_status write_status = eid_book_write(dir, &book, status == RSP_OK ? err : NULL);
    if (status == RSP_OK)
        status = write_status;
    if (status == RSP_OK)
        status = write_readme(dir, err);
    for (size_t i = 0; i < CURVE_FOLDER_COUNT; i++)
        issued_entity_free(&issuers[i].eum);
    eid_book_free(&book);
    return status;
}

/* ---- verify ---- */

typedef struct {
    const char *dir;
    time_t now;
    rsp_pki_verify_report report;
    void *context;
    unsigned failures;
} verify_run;

/* SK_<stem>.pem next to CERT_<stem>.der must hold the certificate's key. */
static rsp_status check_key_pair(const char *cert_path, const rsp_certificate *cert, rsp_error *err)
{
    char key_path[PATH_MAX];
    const char *name = strrchr(cert_path, '/');
    name = name ? name + 1 : cert_path;
    if (strncmp(name, "CERT_", 5) != 0)
        return RSP_OK;
    int len = snprintf(key_path, sizeof key_path, "%.*sSK_%.*s.pem", (int)(name - cert_path),
                       cert_path, (int)(strlen(name) - 5 - 4), name + 5);
    if (len < 0 || (size_t)len >= sizeof key_path || !exists(key_path))
        return RSP_OK;
    rsp_private_key *key = NULL;
    rsp_public_key *public_key = NULL;
    uint8_t key_point[RSP_EC_POINT_SIZE];
    uint8_t cert_point[RSP_EC_POINT_SIZE];
    rsp_status status = rsp_private_key_load_file(key_path, &key, err);
    if (status == RSP_OK)
        status = rsp_certificate_public_key(cert, &public_key, err);
    if (status == RSP_OK && (rsp_private_key_public_point(key, key_point) != RSP_OK ||
                             rsp_public_key_point(public_key, cert_point) != RSP_OK ||
                             memcmp(key_point, cert_point, sizeof key_point) != 0))
        status = rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "private key %s does not match",
                               strrchr(key_path, '/') + 1);
    rsp_private_key_free(key);
    rsp_public_key_free(public_key);
    return status;
}

static void verify_one(verify_run *run, const char *relative, rsp_cert_role role,
                       const rsp_certificate *eum, const rsp_certificate *ci, const rsp_crl *crl)
{
    char path[PATH_MAX];
    rsp_error err = {0};
    rsp_certificate *cert = NULL;
    rsp_cert_verify_options options = {.now = run->now, .crls = &crl, .crl_count = crl ? 1 : 0};
    rsp_status status = join(path, sizeof path, run->dir, relative, &err);
    if (status == RSP_OK)
        status = rsp_certificate_load_file(path, &cert, &err);
    if (status == RSP_OK)
        status = rsp_certificate_verify(cert, role, role == RSP_CERT_ROLE_EUICC ? eum : NULL, &ci,
                                        ci ? 1 : 0, &options, NULL, &err);
    if (status == RSP_OK)
        status = check_key_pair(path, cert, &err);
    if (status != RSP_OK)
        run->failures++;
    if (run->report)
        run->report(run->context, relative, role, status, status == RSP_OK ? "ok" : err.message);
    rsp_certificate_free(cert);
}

static int select_euicc_der(const struct dirent *entry)
{
    size_t len = strlen(entry->d_name);
    return strncmp(entry->d_name, "CERT_EUICC_", 11) == 0 && len > 4 &&
           strcmp(entry->d_name + len - 4, ".der") == 0;
}

static void verify_euiccs(verify_run *run, const char *folder_name, const rsp_certificate *eum,
                          const rsp_certificate *ci, const rsp_crl *crl)
{
    char folder[PATH_MAX];
    char relative[PATH_MAX];
    struct dirent **entries = NULL;
    if (snprintf(folder, sizeof folder, "%s/%s/" EUICC_FOLDER, run->dir, folder_name) >=
        (int)sizeof folder)
        return;
    int count = scandir(folder, &entries, select_euicc_der, compare_names);
    for (int i = 0; i < count; i++) {
        if (snprintf(relative, sizeof relative, "%s/" EUICC_FOLDER "/%s", folder_name,
                     entries[i]->d_name) < (int)sizeof relative)
            verify_one(run, relative, RSP_CERT_ROLE_EUICC, eum, ci, crl);
        free(entries[i]);
    }
    free(entries);
}

static void verify_curve(verify_run *run, const char *folder_name)
{
    static const struct {
        const char *file;
        rsp_cert_role role;
    } files[] = {
        {"CERT_CI_ECDSA.der", RSP_CERT_ROLE_CI},
        {"CERT_EUM_ECDSA.der", RSP_CERT_ROLE_EUM},
        {"CERT_S_SM_DPauth_ECDSA.der", RSP_CERT_ROLE_DP_AUTH},
        {"CERT_S_SM_DPpb_ECDSA.der", RSP_CERT_ROLE_DP_PB},
        {"CERT_S_SM_DP_TLS.der", RSP_CERT_ROLE_DP_TLS},
        {"CERT_EIM_ECDSA.der", RSP_CERT_ROLE_EIM},
        {"CERT_EIM_TLS.der", RSP_CERT_ROLE_EIM_TLS},
    };
    char path[PATH_MAX];
    char relative[PATH_MAX];
    rsp_certificate *ci = NULL;
    rsp_certificate *eum = NULL;
    rsp_crl *crl = NULL;
    snprintf(path, sizeof path, "%s/%s/CERT_CI_ECDSA.der", run->dir, folder_name);
    rsp_certificate_load_file(path, &ci, NULL);
    snprintf(path, sizeof path, "%s/%s/CERT_EUM_ECDSA.der", run->dir, folder_name);
    rsp_certificate_load_file(path, &eum, NULL);
    snprintf(path, sizeof path, "%s/%s/CRL_CI.der", run->dir, folder_name);
    rsp_crl_load_file(path, &crl, NULL);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(relative, sizeof relative, "%s/%s", folder_name, files[i].file);
        verify_one(run, relative, files[i].role, eum, ci, crl);
    }
    if (eum != NULL)
        verify_euiccs(run, folder_name, eum, ci, crl);
    rsp_crl_free(crl);
    rsp_certificate_free(eum);
    rsp_certificate_free(ci);
}

rsp_status rsp_pki_verify(const char *dir, time_t now, rsp_pki_verify_report report, void *context,
                          unsigned *failures, rsp_error *err)
{
    verify_run run = {dir, now, report, context, 0};
    char folder[PATH_MAX];
    bool any = false;
    for (size_t i = 0; i < CURVE_FOLDER_COUNT; i++) {
        if (snprintf(folder, sizeof folder, "%s/%s", dir, curve_folders[i].folder) >=
                (int)sizeof folder ||
            !exists(folder))
            continue;
        any = true;
        verify_curve(&run, curve_folders[i].folder);
    }
    if (failures)
        *failures = run.failures;
    if (!any)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s: no nist/ or brainpool/ folder",
                             dir);
    if (run.failures > 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "%u certificate(s) failed verification",
                             run.failures);
    return RSP_OK;
}
