#include "crypto/ecka.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* SGP.22 v2.5 section 3.1.3: one-time key pair otSK/otPK. */
rsp_status rsp_ecka_one_time_key(rsp_curve curve, rsp_private_key **otsk,
                                 uint8_t otpk[RSP_EC_POINT_SIZE], rsp_error *err)
{
    rsp_private_key *key = NULL;
    if (otsk == NULL || otpk == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    rsp_status status = rsp_private_key_generate(curve, &key, err);
    if (status != RSP_OK)
        return status;
    status = rsp_private_key_public_point(key, otpk);
    if (status != RSP_OK) {
        rsp_private_key_free(key);
        return rsp_error_set(err, status, 0, 0, "cannot export otPK");
    }
    *otsk = key;
    return RSP_OK;
}

/* BSI TR-03111 section 4.3.1 ECKA-DH: ZAB = x(d * Q). */
rsp_status rsp_ecka_shared_secret_key(const rsp_private_key *secret_key, const rsp_public_key *peer,
                                      uint8_t secret[RSP_ECKA_SECRET_SIZE], rsp_error *err)
{
    EVP_PKEY *own = rsp_private_key_evp(secret_key);
    EVP_PKEY *other = rsp_public_key_evp(peer);
    if (secret_key == NULL || peer == NULL || secret == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (own == NULL)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                             "ECKA needs a software key (no EVP_PKEY behind this one)");
    if (rsp_private_key_curve(secret_key) != rsp_public_key_curve(peer))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "peer key is on another curve");
    rsp_status status = RSP_ERR_CRYPTO;
    size_t len = RSP_ECKA_SECRET_SIZE;
    /* No second validation of the peer: every rsp_public_key holds a point OpenSSL decoded
     * onto the curve (import rejects others), and both curves have cofactor 1, so a point on
     * the curve other than infinity is in the group of order n. OpenSSL's own check would only
     * repeat that with a full n*Q multiplication (SP 800-56A r3 5.6.2.3.3 step 4, implied for
     * h = 1), doubling the cost of the agreement. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, other, 0) != 1 ||
        EVP_PKEY_derive(ctx, secret, &len) != 1 || len != RSP_ECKA_SECRET_SIZE) {
        OPENSSL_cleanse(secret, RSP_ECKA_SECRET_SIZE);
        rsp_error_set(err, status, 0, 0, "ECDH derivation failed");
        goto done;
    }
    status = RSP_OK;
done:
    EVP_PKEY_CTX_free(ctx);
    return status;
}

rsp_status rsp_ecka_shared_secret(const rsp_private_key *secret_key, const uint8_t *peer_point,
                                  size_t peer_point_len, uint8_t secret[RSP_ECKA_SECRET_SIZE],
                                  rsp_error *err)
{
    rsp_public_key *peer = NULL;
    if (secret_key == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key");
    rsp_status status = rsp_public_key_from_point(rsp_private_key_curve(secret_key), peer_point,
                                                  peer_point_len, &peer, err);
    if (status == RSP_OK)
        status = rsp_ecka_shared_secret_key(secret_key, peer, secret, err);
    rsp_public_key_free(peer);
    return status;
}
