/* rspkit bench crypto: our wrappers next to the same OpenSSL EVP calls made directly, in the
 * same run. ECDSA sign/verify and ECDH per second on P-256 and brainpoolP256r1 (target:
 * wrapper >= 90% of raw), and BSP protect/unprotect MB/s over a 12 KB profile package next
 * to one raw AES-128-CBC + AES-CMAC pass over the same bytes (target: >= 50% of raw).
 *
 * Rates use process CPU time, so other load on the machine skews them less; each pair is
 * measured in alternating rounds and the best round of each side is kept. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "bench/bench.h"
#include "crypto/bsp.h"
#include "crypto/ecdsa.h"
#include "crypto/ecka.h"
#include "crypto/key.h"
#include "crypto/random.h"

#define ROUNDS        3
#define ROUND_SECONDS 0.08
#define MESSAGE_SIZE  256
#define PROFILE_SIZE  (12 * 1024)

typedef bool (*bench_op)(void *ctx);

/* Operations per CPU second of op over one round. */
static double rate(bench_op op, void *ctx, bool *ok)
{
    unsigned long count = 0;
    double start = bench_cpu_seconds();
    double elapsed = 0;
    do {
        for (int i = 0; i < 4; i++) {
            if (!op(ctx)) {
                *ok = false;
                return 0;
            }
        }
        count += 4;
        elapsed = bench_cpu_seconds() - start;
    } while (elapsed < ROUND_SECONDS);
    return (double)count / elapsed;
}

typedef struct {
    double ours;
    double raw;
} rate_pair;

static rate_pair compare(bench_op ours, bench_op raw, void *ctx, bool *ok)
{
    rate_pair best = {0, 0};
    for (int round = 0; round < ROUNDS && *ok; round++) {
        double a = rate(ours, ctx, ok);
        double b = rate(raw, ctx, ok);
        if (a > best.ours)
            best.ours = a;
        if (b > best.raw)
            best.raw = b;
    }
    return best;
}

static bool report(const char *name, const char *unit, double scale, rate_pair r, double target)
{
    double ratio = r.raw > 0 ? r.ours / r.raw : 0;
    bool pass = ratio >= target;
    printf("  %-28s %10.1f %-5s raw %10.1f %-5s ratio %5.1f%% (target >= %2.0f%%) %s\n", name,
           r.ours * scale, unit, r.raw * scale, unit, ratio * 100, target * 100,
           pass ? "PASS" : "BELOW TARGET");
    return pass;
}

/* ---- ECDSA and ECDH ---- */

typedef struct {
    rsp_curve curve;
    rsp_private_key *key;
    rsp_public_key *pub;
    uint8_t message[MESSAGE_SIZE];
    uint8_t plain_signature[RSP_EC_SIGNATURE_SIZE];
    uint8_t der_signature[RSP_ECDSA_DER_MAX];
    size_t der_len;
    uint8_t peer_point[RSP_EC_POINT_SIZE];
} ec_context;

static bool ours_sign(void *p)
{
    ec_context *c = p;
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    return rsp_ecdsa_sign(c->key, c->message, sizeof c->message, signature, NULL) == RSP_OK;
}

static bool raw_sign(void *p)
{
    ec_context *c = p;
    uint8_t der[RSP_ECDSA_DER_MAX];
    size_t len = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL &&
              EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rsp_private_key_evp(c->key)) == 1 &&
              EVP_DigestSign(md, der, &len, c->message, sizeof c->message) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static bool ours_verify(void *p)
{
    ec_context *c = p;
    return rsp_ecdsa_verify(c->pub, c->message, sizeof c->message, c->plain_signature,
                            sizeof c->plain_signature, NULL) == RSP_OK;
}

static bool raw_verify(void *p)
{
    ec_context *c = p;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok =
        md != NULL &&
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rsp_public_key_evp(c->pub)) == 1 &&
        EVP_DigestVerify(md, c->der_signature, c->der_len, c->message, sizeof c->message) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* ECDH from a received 65-byte point, as ECKA does: import the peer, then derive. */
static bool ours_ecdh(void *p)
{
    ec_context *c = p;
    uint8_t secret[RSP_ECKA_SECRET_SIZE];
    return rsp_ecka_shared_secret(c->key, c->peer_point, sizeof c->peer_point, secret, NULL) ==
           RSP_OK;
}

/* OpenSSL's default way: group built by name on import, and derive_set_peer re-validating the
 * peer with a full n*Q multiplication. ECKA builds keys from a per-curve template and skips
 * that second validation (import already puts the point on the curve; cofactor 1), which is why
 * its rate is about twice this one. */
static bool raw_ecdh(void *p)
{
    ec_context *c = p;
    uint8_t secret[RSP_ECKA_SECRET_SIZE];
    size_t len = sizeof secret;
    EVP_PKEY *peer = NULL;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)rsp_curve_name(c->curve), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, c->peer_point,
                                                  sizeof c->peer_point);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *import = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    bool ok = import != NULL && EVP_PKEY_fromdata_init(import) == 1 &&
              EVP_PKEY_fromdata(import, &peer, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX *derive =
        ok ? EVP_PKEY_CTX_new_from_pkey(NULL, rsp_private_key_evp(c->key), NULL) : NULL;
    ok = ok && derive != NULL && EVP_PKEY_derive_init(derive) == 1 &&
         EVP_PKEY_derive_set_peer(derive, peer) == 1 && EVP_PKEY_derive(derive, secret, &len) == 1;
    EVP_PKEY_CTX_free(derive);
    EVP_PKEY_free(peer);
    EVP_PKEY_CTX_free(import);
    return ok;
}

static bool ec_setup(ec_context *c, rsp_curve curve)
{
    rsp_private_key *peer = NULL;
    memset(c, 0, sizeof *c);
    c->curve = curve;
    bool ok =
        rsp_random_bytes(c->message, sizeof c->message) == RSP_OK &&
        rsp_private_key_generate(curve, &c->key, NULL) == RSP_OK &&
        rsp_private_key_public(c->key, &c->pub, NULL) == RSP_OK &&
        rsp_ecdsa_sign(c->key, c->message, sizeof c->message, c->plain_signature, NULL) == RSP_OK &&
        rsp_ecdsa_signature_to_der(curve, c->plain_signature, sizeof c->plain_signature,
                                   c->der_signature, sizeof c->der_signature, &c->der_len,
                                   NULL) == RSP_OK &&
        rsp_ecka_one_time_key(curve, &peer, c->peer_point, NULL) == RSP_OK;
    rsp_private_key_free(peer);
    return ok;
}

static void ec_cleanup(ec_context *c)
{
    rsp_public_key_free(c->pub);
    rsp_private_key_free(c->key);
}

/* ---- BSP ---- */

typedef struct {
    uint8_t *profile;
    size_t profile_len;
    rsp_bsp_keys keys;
    rsp_bsp_session sender;
    rsp_bsp_session receiver;
    der_writer protected_profile; /* fixed buffer, reused */
    der_writer plain;             /* fixed buffer, reused */
    uint8_t *protected_buf;
    uint8_t *plain_buf;
    uint8_t *protected_reference; /* one protected copy from fresh sessions, for decrypting */
    size_t protected_reference_len;
    EVP_CIPHER_CTX *raw_cipher;
    EVP_MAC_CTX *raw_cmac;
    uint8_t *raw_out;
} bsp_context;

static bool ours_protect(void *p)
{
    bsp_context *c = p;
    c->protected_profile.len = 0;
    return rsp_bsp_encrypt_all(&c->sender, 0x86, c->profile, c->profile_len, &c->protected_profile,
                               NULL) == RSP_OK;
}

static bool ours_unprotect(void *p)
{
    bsp_context *c = p;
    c->plain.len = 0;
    /* Every pass replays the same segments, so the receiver restarts its chain each time. */
    return rsp_bsp_session_rekey(&c->receiver, &c->keys, NULL) == RSP_OK &&
           rsp_bsp_decrypt_all(&c->receiver, 0x86, c->protected_reference,
                               c->protected_reference_len, &c->plain, NULL) == RSP_OK &&
           c->plain.len == c->profile_len;
}

/* Best case for the same work: one CBC pass and one CMAC pass over the whole package. */
static bool raw_cbc_cmac(void *p)
{
    bsp_context *c = p;
    static const uint8_t iv[16] = {1};
    uint8_t mac[16];
    size_t mac_len = 0;
    int n = 0;
    int padded = (int)(c->profile_len - c->profile_len % 16);
    return EVP_EncryptInit_ex(c->raw_cipher, NULL, NULL, NULL, iv) == 1 &&
           EVP_EncryptUpdate(c->raw_cipher, c->raw_out, &n, c->profile, padded) == 1 &&
           EVP_MAC_init(c->raw_cmac, NULL, 0, NULL) == 1 &&
           EVP_MAC_update(c->raw_cmac, c->raw_out, (size_t)n) == 1 &&
           EVP_MAC_final(c->raw_cmac, mac, &mac_len, sizeof mac) == 1;
}

/* The first TS.48 package when the shared data is there, random bytes otherwise. */
static bool load_profile(bsp_context *c)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/BERTLV_SUCI.der", RSPKIT_SHARED_DIR);
    c->profile = malloc(PROFILE_SIZE);
    if (c->profile == NULL)
        return false;
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        c->profile_len = fread(c->profile, 1, PROFILE_SIZE, f);
        fclose(f);
        printf("  profile: %s (first %zu bytes)\n", path, c->profile_len);
    }
    if (c->profile_len == 0) {
        c->profile_len = PROFILE_SIZE;
        printf("  profile: %d random bytes (TS.48 data not found)\n", PROFILE_SIZE);
        return rsp_random_bytes(c->profile, c->profile_len) == RSP_OK;
    }
    return true;
}

static bool bsp_setup(bsp_context *c)
{
    memset(c, 0, sizeof *c);
    if (!load_profile(c) || rsp_random_bytes((uint8_t *)&c->keys, sizeof c->keys) != RSP_OK)
        return false;
    size_t cap = c->profile_len + rsp_bsp_segment_count(c->profile_len, true) * 32;
    c->protected_buf = malloc(cap);
    c->plain_buf = malloc(cap);
    c->raw_out = malloc(c->profile_len + 16);
    c->protected_reference = malloc(cap);
    if (c->protected_buf == NULL || c->plain_buf == NULL || c->raw_out == NULL ||
        c->protected_reference == NULL)
        return false;
    der_writer_init_fixed(&c->protected_profile, c->protected_buf, cap);
    der_writer_init_fixed(&c->plain, c->plain_buf, cap);
    if (rsp_bsp_session_init(&c->sender, RSP_BSP_SENDER, &c->keys, NULL) != RSP_OK ||
        rsp_bsp_session_init(&c->receiver, RSP_BSP_RECEIVER, &c->keys, NULL) != RSP_OK ||
        !ours_protect(c))
        return false;
    memcpy(c->protected_reference, c->protected_buf, c->protected_profile.len);
    c->protected_reference_len = c->protected_profile.len;

    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
    c->raw_cipher = EVP_CIPHER_CTX_new();
    c->raw_cmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    return c->raw_cipher != NULL && c->raw_cmac != NULL &&
           EVP_EncryptInit_ex(c->raw_cipher, EVP_aes_128_cbc(), NULL, c->keys.s_enc, NULL) == 1 &&
           EVP_CIPHER_CTX_set_padding(c->raw_cipher, 0) == 1 &&
           EVP_MAC_init(c->raw_cmac, c->keys.s_mac, sizeof c->keys.s_mac, params) == 1;
}

static void bsp_cleanup(bsp_context *c)
{
    rsp_bsp_session_cleanup(&c->sender);
    rsp_bsp_session_cleanup(&c->receiver);
    EVP_CIPHER_CTX_free(c->raw_cipher);
    EVP_MAC_CTX_free(c->raw_cmac);
    free(c->profile);
    free(c->protected_buf);
    free(c->plain_buf);
    free(c->protected_reference);
    free(c->raw_out);
    rsp_bsp_keys_clear(&c->keys);
}

int bench_crypto(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    bool ok = true;
    bool all_pass = true;
    printf("bench crypto (CPU-time rates, best of %d alternating rounds)\n", ROUNDS);
    static const rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    static const char *const labels[] = {"P-256", "brainpoolP256r1"};
    for (size_t i = 0; i < 2 && ok; i++) {
        ec_context c;
        char name[64];
        ok = ec_setup(&c, curves[i]);
        if (ok) {
            snprintf(name, sizeof name, "ECDSA sign %s", labels[i]);
            all_pass &= report(name, "op/s", 1, compare(ours_sign, raw_sign, &c, &ok), 0.9);
            snprintf(name, sizeof name, "ECDSA verify %s", labels[i]);
            all_pass &= report(name, "op/s", 1, compare(ours_verify, raw_verify, &c, &ok), 0.9);
            snprintf(name, sizeof name, "ECDH %s", labels[i]);
            all_pass &= report(name, "op/s", 1, compare(ours_ecdh, raw_ecdh, &c, &ok), 0.9);
        }
        ec_cleanup(&c);
    }
    if (ok) {
        bsp_context c;
        ok = bsp_setup(&c);
        if (ok) {
            double mb = (double)c.profile_len / 1e6;
            all_pass &= report("BSP protect (encrypt+MAC)", "MB/s", mb,
                               compare(ours_protect, raw_cbc_cmac, &c, &ok), 0.5);
            all_pass &= report("BSP unprotect (verify+dec)", "MB/s", mb,
                               compare(ours_unprotect, raw_cbc_cmac, &c, &ok), 0.5);
        }
        bsp_cleanup(&c);
    }
    if (!ok) {
        fprintf(stderr, "bench crypto: an operation failed\n");
        return 1;
    }
    printf("bench crypto: %s\n", all_pass ? "all targets met" : "some figures below target");
    return 0;
}
