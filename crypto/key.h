/* Keys for the two curves GSMA RSP uses (SGP.22 v2.5 section 2.6.5: NIST P-256 and
 * brainpoolP256r1).
 *
 * A private key is an object behind a small table of operations, so a key held in a PKCS#11
 * token or another HSM can be plugged in with rsp_private_key_from_ops() and every caller
 * (ECDSA signing, certificate issuing, ...) keeps working. Software keys keep an OpenSSL
 * EVP_PKEY inside; rsp_private_key_evp() / rsp_public_key_evp() expose it to code that needs
 * OpenSSL directly (X.509 building). Signatures leave the operations table in the plain
 * 64-byte r||s form (BSI TR-03111), the form both PKCS#11 CKM_ECDSA and GSMA messages use.
 *
 * Threads: software keys are immutable after creation and every operation makes its own
 * OpenSSL context, so one key may sign, verify or derive from several threads at once. The
 * parameters of each curve are built once per process (pthread_once) and copied into new keys.
 *
 * Ownership: every rsp_*_key returned through an out-pointer belongs to the caller and is
 * released with the matching *_free (NULL is accepted). Accessors returning EVP_PKEY borrow. */
#ifndef RSPKIT_CRYPTO_KEY_H
#define RSPKIT_CRYPTO_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct evp_pkey_st EVP_PKEY; /* same forward declaration as <openssl/types.h> */

typedef enum {
    RSP_CURVE_UNKNOWN = 0,
    RSP_CURVE_NIST_P256,
    RSP_CURVE_BRAINPOOL_P256R1,
} rsp_curve;

#define RSP_EC_FIELD_SIZE     32 /* bytes of a coordinate, of r, of s, of a shared secret */
#define RSP_EC_POINT_SIZE     65 /* uncompressed point 04 || X || Y */
#define RSP_EC_SIGNATURE_SIZE 64 /* r || s */
#define RSP_SHA256_SIZE       32

typedef struct rsp_private_key rsp_private_key;
typedef struct rsp_public_key rsp_public_key;

/* Operations of a private key implementation. impl is the implementation's own state. */
typedef struct {
    /* Signs a SHA-256 digest; writes r||s (each 32 bytes, big endian, left padded). */
    rsp_status (*sign_digest)(void *impl, const uint8_t digest[RSP_SHA256_SIZE],
                              uint8_t signature[RSP_EC_SIGNATURE_SIZE]);
    /* Writes the public point 04||X||Y. */
    rsp_status (*public_point)(void *impl, uint8_t point[RSP_EC_POINT_SIZE]);
    rsp_curve (*curve)(void *impl);
    /* Optional: the EVP_PKEY behind the key (borrowed), or NULL for keys OpenSSL cannot use
     * directly. */
    EVP_PKEY *(*evp)(void *impl);
    void (*free)(void *impl);
} rsp_private_key_ops;

/* Curve names as OpenSSL spells them ("prime256v1", "brainpoolP256r1"); NULL for unknown. */
const char *rsp_curve_name(rsp_curve curve);
/* Maps an OpenSSL group name (either "P-256" or "prime256v1", "brainpoolP256r1"). */
rsp_curve rsp_curve_from_name(const char *name);

/* ---- private keys ---- */

/* Wraps an external implementation; on success the key owns impl (ops->free releases it). */
rsp_status rsp_private_key_from_ops(const rsp_private_key_ops *ops, void *impl,
                                    rsp_private_key **out);
/* Takes a new reference to an EC EVP_PKEY holding a private key on a supported curve. */
rsp_status rsp_private_key_from_evp(EVP_PKEY *pkey, rsp_private_key **out, rsp_error *err);
/* PEM ("PRIVATE KEY" PKCS#8 or "EC PRIVATE KEY" SEC1) or DER (PKCS#8 or SEC1), detected. */
rsp_status rsp_private_key_load(const uint8_t *data, size_t len, rsp_private_key **out,
                                rsp_error *err);
rsp_status rsp_private_key_load_file(const char *path, rsp_private_key **out, rsp_error *err);
/* Builds a key from its 32-byte scalar (test vectors). */
rsp_status rsp_private_key_from_scalar(rsp_curve curve, const uint8_t scalar[RSP_EC_FIELD_SIZE],
                                       rsp_private_key **out, rsp_error *err);
rsp_status rsp_private_key_generate(rsp_curve curve, rsp_private_key **out, rsp_error *err);
/* PKCS#8 PEM, unencrypted. *pem is malloc'ed, NUL terminated; *len excludes the NUL. */
rsp_status rsp_private_key_write_pem(const rsp_private_key *key, char **pem, size_t *len,
                                     rsp_error *err);
/* Writes the PEM to path with mode 0600. */
rsp_status rsp_private_key_write_pem_file(const rsp_private_key *key, const char *path,
                                          rsp_error *err);
void rsp_private_key_free(rsp_private_key *key);

rsp_curve rsp_private_key_curve(const rsp_private_key *key);
rsp_status rsp_private_key_sign_digest(const rsp_private_key *key,
                                       const uint8_t digest[RSP_SHA256_SIZE],
                                       uint8_t signature[RSP_EC_SIGNATURE_SIZE]);
rsp_status rsp_private_key_public_point(const rsp_private_key *key,
                                        uint8_t point[RSP_EC_POINT_SIZE]);
/* New public key object for the key's public half. */
rsp_status rsp_private_key_public(const rsp_private_key *key, rsp_public_key **out, rsp_error *err);
/* Borrowed EVP_PKEY, or NULL when the implementation has none (HSM without provider). */
EVP_PKEY *rsp_private_key_evp(const rsp_private_key *key);

/* ---- public keys ---- */

/* Takes a new reference to an EC EVP_PKEY on a supported curve. */
rsp_status rsp_public_key_from_evp(EVP_PKEY *pkey, rsp_public_key **out, rsp_error *err);
/* DER SubjectPublicKeyInfo (RFC 5280 section 4.1). */
rsp_status rsp_public_key_from_spki(const uint8_t *der, size_t len, rsp_public_key **out,
                                    rsp_error *err);
/* The subjectPublicKeyInfo of a DER X.509 certificate (signature is NOT checked here). */
rsp_status rsp_public_key_from_certificate(const uint8_t *der, size_t len, rsp_public_key **out,
                                           rsp_error *err);
/* Uncompressed point 04||X||Y (65 bytes); the point must be on the curve. */
rsp_status rsp_public_key_from_point(rsp_curve curve, const uint8_t *point, size_t len,
                                     rsp_public_key **out, rsp_error *err);
void rsp_public_key_free(rsp_public_key *key);

rsp_curve rsp_public_key_curve(const rsp_public_key *key);
rsp_status rsp_public_key_point(const rsp_public_key *key, uint8_t point[RSP_EC_POINT_SIZE]);
/* DER SubjectPublicKeyInfo; *der is malloc'ed. */
rsp_status rsp_public_key_to_spki(const rsp_public_key *key, uint8_t **der, size_t *len,
                                  rsp_error *err);
/* Borrowed. */
EVP_PKEY *rsp_public_key_evp(const rsp_public_key *key);

#endif
