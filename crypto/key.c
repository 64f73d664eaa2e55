#include "crypto/key.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/ecdsa.h"

/* A PEM EC key is < 1 KB and a GSMA certificate < 2 KB; anything huge is not one. */
#define KEY_FILE_MAX (64 * 1024)

struct rsp_private_key {
    rsp_private_key_ops ops;
    void *impl;
};

struct rsp_public_key {
    EVP_PKEY *pkey;
    rsp_curve curve;
    uint8_t point[RSP_EC_POINT_SIZE]; /* cached: exported on every ECKA and message build */
};

/* Software implementation: an OpenSSL key with its public point cached. */
typedef struct {
    EVP_PKEY *pkey;
    rsp_curve curve;
    uint8_t point[RSP_EC_POINT_SIZE];
} software_key;

const char *rsp_curve_name(rsp_curve curve)
{
    switch (curve) {
    case RSP_CURVE_NIST_P256:
        return "prime256v1";
    case RSP_CURVE_BRAINPOOL_P256R1:
        return "brainpoolP256r1";
    default:
        return NULL;
    }
}

rsp_curve rsp_curve_from_name(const char *name)
{
    if (name == NULL)
        return RSP_CURVE_UNKNOWN;
    if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0 ||
        strcmp(name, "secp256r1") == 0)
        return RSP_CURVE_NIST_P256;
    if (strcmp(name, "brainpoolP256r1") == 0)
        return RSP_CURVE_BRAINPOOL_P256R1;
    return RSP_CURVE_UNKNOWN;
}

static rsp_curve evp_curve(const EVP_PKEY *pkey)
{
    char group[64];
    size_t group_len = 0;
    if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return RSP_CURVE_UNKNOWN;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &group_len) != 1)
        return RSP_CURVE_UNKNOWN;
    return rsp_curve_from_name(group);
}

/* ---- per-curve parameter templates ----
 * Building an EC group by name costs more than the point arithmetic of a key import, so the
 * parameters of each curve are built once per process and copied into every new key (import,
 * generation). The templates are immutable after the pthread_once, hence shared by threads. */

static EVP_PKEY *curve_templates[RSP_CURVE_BRAINPOOL_P256R1 + 1];
static pthread_once_t curve_templates_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *build_curve_template(const char *name)
{
    EVP_PKEY *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM settings[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
        OSSL_PARAM_END,
    };
    if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_params(ctx, settings) != 1 || EVP_PKEY_paramgen(ctx, &params) != 1)
        params = NULL;
    EVP_PKEY_CTX_free(ctx);
    return params;
}

static void build_curve_templates(void)
{
    curve_templates[RSP_CURVE_NIST_P256] = build_curve_template("prime256v1");
    curve_templates[RSP_CURVE_BRAINPOOL_P256R1] = build_curve_template("brainpoolP256r1");
}

/* Borrowed parameters-only key of curve, NULL when the curve is unknown or OpenSSL failed. */
static EVP_PKEY *curve_template(rsp_curve curve)
{
    if (curve != RSP_CURVE_NIST_P256 && curve != RSP_CURVE_BRAINPOOL_P256R1)
        return NULL;
    if (pthread_once(&curve_templates_once, build_curve_templates) != 0)
        return NULL;
    return curve_templates[curve];
}

/* X and Y are read separately (slow path) so the result is uncompressed whatever form the key
 * was imported in; the encoded point is used when it already is uncompressed. */
static rsp_status evp_public_point(const EVP_PKEY *pkey, uint8_t point[RSP_EC_POINT_SIZE])
{
    size_t encoded_len = 0;
    /* OpenSSL 3.0 fails some parameter reads when its error queue is not empty: start clean,
     * and leave no trace of a failed fast path */
    ERR_clear_error();
    ERR_set_mark();
    bool encoded = EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                   RSP_EC_POINT_SIZE, &encoded_len) == 1 &&
                   encoded_len == RSP_EC_POINT_SIZE && point[0] == 0x04;
    ERR_pop_to_mark();
    if (encoded)
        return RSP_OK;
    BIGNUM *x = NULL;
    BIGNUM *y = NULL;
    rsp_status status = RSP_ERR_CRYPTO;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
        goto done;
    point[0] = 0x04;
    if (BN_bn2binpad(x, point + 1, RSP_EC_FIELD_SIZE) != RSP_EC_FIELD_SIZE ||
        BN_bn2binpad(y, point + 1 + RSP_EC_FIELD_SIZE, RSP_EC_FIELD_SIZE) != RSP_EC_FIELD_SIZE)
        goto done;
    status = RSP_OK;
done:
    BN_free(x);
    BN_free(y);
    return status;
}

/* ---- software private key operations ---- */

static rsp_status software_sign_digest(void *impl, const uint8_t digest[RSP_SHA256_SIZE],
                                       uint8_t signature[RSP_EC_SIGNATURE_SIZE])
{
    software_key *key = impl;
    uint8_t der[RSP_ECDSA_DER_MAX];
    size_t der_len = sizeof der;
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_sign(ctx, der, &der_len, digest, RSP_SHA256_SIZE) != 1)
        goto done;
    status = rsp_ecdsa_signature_from_der(key->curve, der, der_len, signature, NULL);
done:
    EVP_PKEY_CTX_free(ctx);
    return status;
}

static rsp_status software_public_point(void *impl, uint8_t point[RSP_EC_POINT_SIZE])
{
    const software_key *key = impl;
    memcpy(point, key->point, RSP_EC_POINT_SIZE);
    return RSP_OK;
}

static rsp_curve software_curve(void *impl)
{
    const software_key *key = impl;
    return key->curve;
}

static EVP_PKEY *software_evp(void *impl)
{
    software_key *key = impl;
    return key->pkey;
}

static void software_free(void *impl)
{
    software_key *key = impl;
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

static const rsp_private_key_ops software_ops = {
    .sign_digest = software_sign_digest,
    .public_point = software_public_point,
    .curve = software_curve,
    .evp = software_evp,
    .free = software_free,
};

/* ---- private keys ---- */

rsp_status rsp_private_key_from_ops(const rsp_private_key_ops *ops, void *impl,
                                    rsp_private_key **out)
{
    if (ops == NULL || ops->sign_digest == NULL || ops->public_point == NULL ||
        ops->curve == NULL || out == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    rsp_private_key *key = calloc(1, sizeof *key);
    if (key == NULL)
        return RSP_ERR_NO_MEMORY;
    key->ops = *ops;
    key->impl = impl;
    *out = key;
    return RSP_OK;
}

/* Consumes the caller's reference to pkey in every case. */
static rsp_status private_key_adopt(EVP_PKEY *pkey, rsp_private_key **out, rsp_error *err)
{
    rsp_status status;
    software_key *impl = NULL;
    rsp_curve curve = evp_curve(pkey);
    if (curve == RSP_CURVE_UNKNOWN) {
        status = rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                               "key is not EC on P-256 or brainpoolP256r1");
        goto fail;
    }
    impl = calloc(1, sizeof *impl);
    if (impl == NULL) {
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        goto fail;
    }
    impl->pkey = pkey;
    impl->curve = curve;
    pkey = NULL;
    status = evp_public_point(impl->pkey, impl->point);
    if (status != RSP_OK) {
        rsp_error_set(err, status, 0, 0, "private key has no usable public point");
        goto fail;
    }
    status = rsp_private_key_from_ops(&software_ops, impl, out);
    if (status != RSP_OK)
        goto fail;
    return RSP_OK;
fail:
    EVP_PKEY_free(pkey);
    software_free(impl);
    return status;
}

rsp_status rsp_private_key_from_evp(EVP_PKEY *pkey, rsp_private_key **out, rsp_error *err)
{
    if (pkey == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key");
    if (EVP_PKEY_up_ref(pkey) != 1)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "EVP_PKEY_up_ref failed");
    return private_key_adopt(pkey, out, err);
}

static bool looks_like_pem(const uint8_t *data, size_t len)
{
    static const char marker[] = "-----BEGIN";
    size_t marker_len = sizeof marker - 1;
    for (size_t i = 0; i + marker_len <= len; i++)
        if (memcmp(data + i, marker, marker_len) == 0)
            return true;
    return false;
}

rsp_status rsp_private_key_load(const uint8_t *data, size_t len, rsp_private_key **out,
                                rsp_error *err)
{
    EVP_PKEY *pkey = NULL;
    if (data == NULL || out == NULL || len == 0 || len > KEY_FILE_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad key buffer");
    /* OpenSSL 3.0's decoders judge success partly by the error queue: a stale entry left by
     * an unrelated failure made a SEC1 PEM with EC PARAMETERS load without its key */
    ERR_clear_error();
    if (looks_like_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (bio == NULL)
            return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (pkey != NULL && p != data + len) {
            EVP_PKEY_free(pkey);
            return rsp_error_set(err, RSP_ERR_TRAILING, 0, (size_t)(p - data),
                                 "bytes after the private key DER");
        }
    }
    if (pkey == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "not a PEM or DER private key");
    return private_key_adopt(pkey, out, err);
}

static rsp_status read_small_file(const char *path, uint8_t **data, size_t *len, rsp_error *err)
{
    rsp_status status = RSP_OK;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s", path);
    buf = malloc(KEY_FILE_MAX + 1);
    if (buf == NULL) {
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        goto done;
    }
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    if (ferror(f) || n == 0 || n > KEY_FILE_MAX) {
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot read %s (empty or too big)", path);
        goto done;
    }
    *data = buf;
    *len = n;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return status;
}

rsp_status rsp_private_key_load_file(const char *path, rsp_private_key **out, rsp_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (path == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL path");
    rsp_status status = read_small_file(path, &data, &len, err);
    if (status == RSP_OK)
        status = rsp_private_key_load(data, len, out, err);
    if (data != NULL)
        OPENSSL_cleanse(data, len);
    free(data);
    return status;
}

/* Builds an EVP_PKEY from group name, optional private scalar and optional public point. */
static EVP_PKEY *evp_from_parts(rsp_curve curve, const BIGNUM *scalar, const uint8_t *point,
                                size_t point_len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, rsp_curve_name(curve),
                                        0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1)
        goto done;
    if (scalar != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, scalar) != 1)
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1)
        goto done;
    int selection = scalar != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    if (EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

rsp_status rsp_private_key_from_scalar(rsp_curve curve, const uint8_t scalar[RSP_EC_FIELD_SIZE],
                                       rsp_private_key **out, rsp_error *err)
{
    rsp_status status = RSP_ERR_CRYPTO;
    uint8_t point[RSP_EC_POINT_SIZE];
    EVP_PKEY *pkey = NULL;
    EC_POINT *pub = NULL;
    BIGNUM *d = NULL;
    const char *name = rsp_curve_name(curve);
    if (name == NULL || scalar == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad curve or scalar");
    /* OpenSSL 3.0 does not derive the public point on import, so compute it here. */
    EC_GROUP *group = EC_GROUP_new_by_curve_name(OBJ_txt2nid(name));
    d = BN_secure_new();
    if (group == NULL || d == NULL || BN_bin2bn(scalar, RSP_EC_FIELD_SIZE, d) == NULL)
        goto done;
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "scalar is 0 or >= n");
        goto done;
    }
    pub = EC_POINT_new(group);
    if (pub == NULL || EC_POINT_mul(group, pub, d, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof point, NULL) !=
            sizeof point)
        goto done;
    pkey = evp_from_parts(curve, d, point, sizeof point);
    if (pkey == NULL)
        goto done;
    status = private_key_adopt(pkey, out, err);
done:
    if (status == RSP_ERR_CRYPTO)
        rsp_error_set(err, status, 0, 0, "cannot build key from scalar");
    BN_clear_free(d);
    EC_POINT_free(pub);
    EC_GROUP_free(group);
    return status;
}

rsp_status rsp_private_key_generate(rsp_curve curve, rsp_private_key **out, rsp_error *err)
{
    const char *name = rsp_curve_name(curve);
    if (name == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "unsupported curve");
    EVP_PKEY *pkey = NULL;
    EVP_PKEY *params = curve_template(curve);
    EVP_PKEY_CTX *ctx = params != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL) : NULL;
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (pkey == NULL)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "key generation failed");
    return private_key_adopt(pkey, out, err);
}

rsp_status rsp_private_key_write_pem(const rsp_private_key *key, char **pem, size_t *len,
                                     rsp_error *err)
{
    rsp_status status = RSP_ERR_CRYPTO;
    EVP_PKEY *pkey = rsp_private_key_evp(key);
    char *copy = NULL;
    if (pkey == NULL || pem == NULL || len == NULL)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "key cannot be exported");
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
        goto done;
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        goto done;
    copy = malloc((size_t)n + 1);
    if (copy == NULL) {
        status = RSP_ERR_NO_MEMORY;
        goto done;
    }
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *pem = copy;
    *len = (size_t)n;
    status = RSP_OK;
done:
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "cannot write private key PEM");
    BIO_free(bio);
    return status;
}

rsp_status rsp_private_key_write_pem_file(const rsp_private_key *key, const char *path,
                                          rsp_error *err)
{
    char *pem = NULL;
    size_t len = 0;
    if (path == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL path");
    rsp_status status = rsp_private_key_write_pem(key, &pem, &len, err);
    if (status != RSP_OK)
        return status;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", path);
    } else {
        ssize_t written = write(fd, pem, len);
        if (close(fd) != 0 || written < 0 || (size_t)written != len)
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
    }
    OPENSSL_cleanse(pem, len);
    free(pem);
    return status;
}

void rsp_private_key_free(rsp_private_key *key)
{
    if (key == NULL)
        return;
    if (key->ops.free != NULL)
        key->ops.free(key->impl);
    free(key);
}

rsp_curve rsp_private_key_curve(const rsp_private_key *key)
{
    return key != NULL ? key->ops.curve(key->impl) : RSP_CURVE_UNKNOWN;
}

rsp_status rsp_private_key_sign_digest(const rsp_private_key *key,
                                       const uint8_t digest[RSP_SHA256_SIZE],
                                       uint8_t signature[RSP_EC_SIGNATURE_SIZE])
{
    if (key == NULL || digest == NULL || signature == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    return key->ops.sign_digest(key->impl, digest, signature);
}

rsp_status rsp_private_key_public_point(const rsp_private_key *key,
                                        uint8_t point[RSP_EC_POINT_SIZE])
{
    if (key == NULL || point == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    return key->ops.public_point(key->impl, point);
}

rsp_status rsp_private_key_public(const rsp_private_key *key, rsp_public_key **out, rsp_error *err)
{
    uint8_t point[RSP_EC_POINT_SIZE];
    rsp_status status = rsp_private_key_public_point(key, point);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "cannot read public point");
    return rsp_public_key_from_point(rsp_private_key_curve(key), point, sizeof point, out, err);
}

EVP_PKEY *rsp_private_key_evp(const rsp_private_key *key)
{
    if (key == NULL || key->ops.evp == NULL)
        return NULL;
    return key->ops.evp(key->impl);
}

/* ---- public keys ---- */

/* Consumes the caller's reference to pkey in every case. */
static rsp_status public_key_adopt(EVP_PKEY *pkey, rsp_public_key **out, rsp_error *err)
{
    rsp_status status;
    rsp_public_key *key = NULL;
    rsp_curve curve = evp_curve(pkey);
    if (curve == RSP_CURVE_UNKNOWN) {
        status = rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                               "key is not EC on P-256 or brainpoolP256r1");
        goto fail;
    }
    key = calloc(1, sizeof *key);
    if (key == NULL) {
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        goto fail;
    }
    key->curve = curve;
    status = evp_public_point(pkey, key->point);
    if (status != RSP_OK) {
        rsp_error_set(err, status, 0, 0, "public key has no usable point");
        goto fail;
    }
    key->pkey = pkey;
    *out = key;
    return RSP_OK;
fail:
    EVP_PKEY_free(pkey);
    free(key);
    return status;
}

rsp_status rsp_public_key_from_evp(EVP_PKEY *pkey, rsp_public_key **out, rsp_error *err)
{
    if (pkey == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key");
    if (EVP_PKEY_up_ref(pkey) != 1)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "EVP_PKEY_up_ref failed");
    return public_key_adopt(pkey, out, err);
}

rsp_status rsp_public_key_from_spki(const uint8_t *der, size_t len, rsp_public_key **out,
                                    rsp_error *err)
{
    if (der == NULL || out == NULL || len == 0 || len > KEY_FILE_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad SPKI buffer");
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "not a SubjectPublicKeyInfo");
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return rsp_error_set(err, RSP_ERR_TRAILING, 0, (size_t)(p - der),
                             "bytes after the SubjectPublicKeyInfo");
    }
    return public_key_adopt(pkey, out, err);
}

rsp_status rsp_public_key_from_certificate(const uint8_t *der, size_t len, rsp_public_key **out,
                                           rsp_error *err)
{
    if (der == NULL || out == NULL || len == 0 || len > KEY_FILE_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad certificate buffer");
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    rsp_status status;
    if (cert == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "not an X.509 certificate");
    if (p != der + len) {
        status = rsp_error_set(err, RSP_ERR_TRAILING, 0, (size_t)(p - der),
                               "bytes after the certificate");
    } else {
        EVP_PKEY *pkey = X509_get0_pubkey(cert);
        status = pkey != NULL ? rsp_public_key_from_evp(pkey, out, err)
                              : rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                                              "certificate public key unreadable");
    }
    X509_free(cert);
    return status;
}

/* Public keys made from points, shared: an SM-DP+ makes the eUICC's key from the point kept in
 * the session at each step of a download (OpenSSL 3.0 copies the group for every new key).
 * A public key is never modified after its creation, and EVP_PKEY may be used by several
 * threads at once, so a hit hands out another reference. */
#define POINT_CACHE_SLOTS 32

static struct {
    pthread_mutex_t lock;
    struct {
        rsp_curve curve;
        uint8_t point[RSP_EC_POINT_SIZE];
        EVP_PKEY *pkey; /* one reference held by the cache; NULL when unused */
    } slots[POINT_CACHE_SLOTS];
    size_t next;
} point_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static EVP_PKEY *point_cache_lookup(rsp_curve curve, const uint8_t *point)
{
    EVP_PKEY *found = NULL;
    pthread_mutex_lock(&point_cache.lock);
    for (size_t i = 0; i < POINT_CACHE_SLOTS && found == NULL; i++)
        if (point_cache.slots[i].pkey != NULL && point_cache.slots[i].curve == curve &&
            memcmp(point_cache.slots[i].point, point, RSP_EC_POINT_SIZE) == 0 &&
            EVP_PKEY_up_ref(point_cache.slots[i].pkey) == 1)
            found = point_cache.slots[i].pkey;
    pthread_mutex_unlock(&point_cache.lock);
    return found;
}

static void point_cache_insert(rsp_curve curve, const uint8_t *point, EVP_PKEY *pkey)
{
    if (EVP_PKEY_up_ref(pkey) != 1)
        return;
    pthread_mutex_lock(&point_cache.lock);
    size_t slot = point_cache.next;
    point_cache.next = (point_cache.next + 1) % POINT_CACHE_SLOTS;
    EVP_PKEY *evicted = point_cache.slots[slot].pkey;
    point_cache.slots[slot].curve = curve;
    memcpy(point_cache.slots[slot].point, point, RSP_EC_POINT_SIZE);
    point_cache.slots[slot].pkey = pkey;
    pthread_mutex_unlock(&point_cache.lock);
    EVP_PKEY_free(evicted);
}

/* The point set on a copy of the curve's parameters: setting it decodes it and rejects it when
 * it is not on the curve. */
static rsp_status pkey_from_point(rsp_curve curve, const uint8_t *point, EVP_PKEY **out,
                                  rsp_error *err)
{
    EVP_PKEY *params = curve_template(curve);
    EVP_PKEY *pkey = params != NULL ? EVP_PKEY_new() : NULL;
    *out = NULL;
    if (pkey == NULL)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "no parameters for the curve");
    if (EVP_PKEY_copy_parameters(pkey, params) != 1 ||
        EVP_PKEY_set1_encoded_public_key(pkey, point, RSP_EC_POINT_SIZE) != 1) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "point is not on the curve");
    }
    point_cache_insert(curve, point, pkey);
    *out = pkey;
    return RSP_OK;
}

rsp_status rsp_public_key_from_point(rsp_curve curve, const uint8_t *point, size_t len,
                                     rsp_public_key **out, rsp_error *err)
{
    if (rsp_curve_name(curve) == NULL || point == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad curve or point");
    if (len != RSP_EC_POINT_SIZE || point[0] != 0x04)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "point is not uncompressed 04||X||Y of 65 bytes");
    EVP_PKEY *pkey = point_cache_lookup(curve, point);
    if (pkey == NULL) {
        rsp_status status = pkey_from_point(curve, point, &pkey, err);
        if (status != RSP_OK)
            return status;
    }
    rsp_public_key *key = calloc(1, sizeof *key);
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    }
    key->pkey = pkey;
    key->curve = curve;
    memcpy(key->point, point, RSP_EC_POINT_SIZE);
    *out = key;
    return RSP_OK;
}

void rsp_public_key_free(rsp_public_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

rsp_curve rsp_public_key_curve(const rsp_public_key *key)
{
    return key != NULL ? key->curve : RSP_CURVE_UNKNOWN;
}

rsp_status rsp_public_key_point(const rsp_public_key *key, uint8_t point[RSP_EC_POINT_SIZE])
{
    if (key == NULL || point == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    memcpy(point, key->point, RSP_EC_POINT_SIZE);
    return RSP_OK;
}

rsp_status rsp_public_key_to_spki(const rsp_public_key *key, uint8_t **der, size_t *len,
                                  rsp_error *err)
{
    if (key == NULL || der == NULL || len == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(key->pkey, &buf);
    if (n <= 0)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "cannot encode SubjectPublicKeyInfo");
    /* Hand back a libc buffer so callers free() it like every other rspkit buffer. */
    uint8_t *copy = malloc((size_t)n);
    if (copy != NULL)
        memcpy(copy, buf, (size_t)n);
    OPENSSL_free(buf);
    if (copy == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    *der = copy;
    *len = (size_t)n;
    return RSP_OK;
}

EVP_PKEY *rsp_public_key_evp(const rsp_public_key *key)
{
    return key != NULL ? key->pkey : NULL;
}
