/* ECKA shared secret and BSP session-key derivation against the values published in osmocom
 * pySim tests/unittests/test_esim.py (TestECKA) and test_esim_bsp.py (BSP_Test*); values
 * only. Then agreement on both curves with fresh one-time keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/der.h"
#include "crypto/ecka.h"
#include "crypto/kdf.h"

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
    long n = der_hex_decode(text, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

static void assert_hex_equal(const uint8_t *data, size_t len, const char *expected_hex)
{
    uint8_t expected[128];
    size_t expected_len = hex(expected_hex, expected, sizeof expected);
    assert_int_equal(len, expected_len);
    assert_memory_equal(data, expected, len);
}

/* TestECKA.test_mode51: SM-DP+ otSK with the eUICC otPK on P-256. */
static void test_pysim_ecka_mode51(void **state)
{
    (void)state;
    uint8_t scalar[32];
    uint8_t euicc_otpk[65];
    uint8_t smdp_otpk[65];
    uint8_t own_point[65];
    uint8_t secret[32];
    rsp_private_key *smdp_otsk = NULL;
    hex("fb68a38ccedb69e15cbe03c256228998ac398587e5dc7117f948145c839d61a4", scalar, sizeof scalar);
    hex("0400f7b8d71403f21d84b00cd9e561178d737d3f4d065e62fee279271298dd4f074794ab791b9939d446"
        "1296efe388aa26731064263af988b7d2c4d77da44801b5",
        euicc_otpk, sizeof euicc_otpk);
    hex("04a27e2bdbd94dcf67d4c9ae5cb149d9d0f093be7a16dc41ec9db0318e4db72d09234a7d7631979a5d15"
        "0eec40afe17ce41673df9d2f2e4246d60051c74eba7964",
        smdp_otpk, sizeof smdp_otpk);
    assert_int_equal(rsp_private_key_from_scalar(RSP_CURVE_NIST_P256, scalar, &smdp_otsk, NULL),
                     RSP_OK);
    /* The published otPK.DP is the public half of the published otSK.DP. */
    assert_int_equal(rsp_private_key_public_point(smdp_otsk, own_point), RSP_OK);
    assert_memory_equal(own_point, smdp_otpk, sizeof own_point);
    assert_int_equal(rsp_ecka_shared_secret(smdp_otsk, euicc_otpk, sizeof euicc_otpk, secret, NULL),
                     RSP_OK);
    assert_hex_equal(secret, sizeof secret,
                     "c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe");
    /* A peer point off the curve or on the wrong length is refused. */
    euicc_otpk[64] ^= 1;
    assert_int_equal(rsp_ecka_shared_secret(smdp_otsk, euicc_otpk, sizeof euicc_otpk, secret, NULL),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(rsp_ecka_shared_secret(smdp_otsk, euicc_otpk, 33, secret, NULL),
                     RSP_ERR_BAD_VALUE);
    rsp_private_key_free(smdp_otsk);
}

static void check_kdf(const char *secret_hex, const char *eid_hex, const char *s_enc,
                      const char *s_mac, const char *mcv)
{
    uint8_t secret[32];
    uint8_t eid[16];
    uint8_t host_id[8];
    rsp_bsp_keys keys;
    memset(host_id, 0x80, sizeof host_id);
    hex(secret_hex, secret, sizeof secret);
    hex(eid_hex, eid, sizeof eid);
    assert_int_equal(rsp_bsp_derive_keys(secret, sizeof secret, RSP_BSP_KEY_TYPE_AES,
                                         RSP_BSP_KEY_LENGTH_AES128, host_id, sizeof host_id, eid,
                                         sizeof eid, &keys, NULL),
                     RSP_OK);
    assert_hex_equal(keys.s_enc, sizeof keys.s_enc, s_enc);
    assert_hex_equal(keys.s_mac, sizeof keys.s_mac, s_mac);
    assert_hex_equal(keys.initial_mcv, sizeof keys.initial_mcv, mcv);
}

/* BSP_Test.test_kdf and BSP_Test_mode51.test_kdf: hostId 80 x 8. */
static void test_pysim_session_keys(void **state)
{
    (void)state;
    check_kdf("8902dca391bbb22570fe60c176076246f568b1941265dff1d729e63039658089",
              "89049032123451234512345678901335", "d782d575b22a38334556a3d9a1e2ae6b",
              "a35addc192ae8f934e2932116c7e89e7", "734bc93ddb10c71c5ad13d420dc08b5b");
    check_kdf("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe",
              "89049032123451234512345678901235", "472f5bfadd97f21d34f3ce9b51b92751",
              "9ec07f5b36a13e12a991d66e294e6242", "406d507b448a699e7a36a38494debbde");
}

static void test_shared_info_layout(void **state)
{
    (void)state;
    uint8_t host_id[8];
    uint8_t eid[16];
    uint8_t info[64];
    size_t len = 0;
    memset(host_id, 0x80, sizeof host_id);
    memset(eid, 0x89, sizeof eid);
    assert_int_equal(rsp_bsp_shared_info(0x88, 0x10, host_id, sizeof host_id, eid, sizeof eid, info,
                                         sizeof info, &len, NULL),
                     RSP_OK);
    assert_hex_equal(info, len,
                     "881008"
                     "8080808080808080"
                     "10"
                     "89898989898989898989898989898989");
    /* 200-byte hostId: length in the two-byte BER form 81 C8. */
    uint8_t long_host[200];
    uint8_t long_info[300];
    memset(long_host, 1, sizeof long_host);
    assert_int_equal(rsp_bsp_shared_info(0x88, 0x10, long_host, sizeof long_host, eid, sizeof eid,
                                         long_info, sizeof long_info, &len, NULL),
                     RSP_OK);
    assert_int_equal(len, 2 + 2 + 200 + 1 + 16);
    assert_int_equal(long_info[2], 0x81);
    assert_int_equal(long_info[3], 200);
    assert_int_equal(rsp_bsp_shared_info(0x88, 0x10, long_host, sizeof long_host, eid, sizeof eid,
                                         long_info, 100, &len, NULL),
                     RSP_ERR_BUFFER_TOO_SMALL);
    /* Only AES-128 keys exist for BSP. */
    rsp_bsp_keys keys;
    uint8_t secret[32] = {1};
    assert_int_equal(rsp_bsp_derive_keys(secret, sizeof secret, 0x88, 0x20, host_id, sizeof host_id,
                                         eid, sizeof eid, &keys, NULL),
                     RSP_ERR_UNSUPPORTED);
}

static void test_replace_session_keys(void **state)
{
    (void)state;
    uint8_t enc[16];
    uint8_t mac[16];
    uint8_t mcv[16];
    rsp_bsp_keys keys;
    memset(enc, 1, sizeof enc);
    memset(mac, 2, sizeof mac);
    memset(mcv, 3, sizeof mcv);
    assert_int_equal(rsp_bsp_keys_from_replace_session_keys(enc, 16, mac, 16, mcv, 16, &keys, NULL),
                     RSP_OK);
    assert_memory_equal(keys.s_enc, enc, 16);
    assert_memory_equal(keys.s_mac, mac, 16);
    assert_memory_equal(keys.initial_mcv, mcv, 16);
    assert_int_equal(rsp_bsp_keys_from_replace_session_keys(enc, 15, mac, 16, mcv, 16, &keys, NULL),
                     RSP_ERR_BAD_VALUE);
    rsp_bsp_keys_clear(&keys);
    uint8_t zero[sizeof keys] = {0};
    assert_memory_equal(&keys, zero, sizeof keys);
}

/* Both sides of a fresh exchange agree, on both curves; mixing curves is refused. */
static void check_agreement(rsp_curve curve)
{
    rsp_private_key *dp_sk = NULL;
    rsp_private_key *euicc_sk = NULL;
    uint8_t dp_pk[65];
    uint8_t euicc_pk[65];
    uint8_t secret_dp[32];
    uint8_t secret_euicc[32];
    assert_int_equal(rsp_ecka_one_time_key(curve, &dp_sk, dp_pk, NULL), RSP_OK);
    assert_int_equal(rsp_ecka_one_time_key(curve, &euicc_sk, euicc_pk, NULL), RSP_OK);
    assert_int_equal(dp_pk[0], 0x04);
    assert_int_equal(rsp_ecka_shared_secret(dp_sk, euicc_pk, 65, secret_dp, NULL), RSP_OK);
    assert_int_equal(rsp_ecka_shared_secret(euicc_sk, dp_pk, 65, secret_euicc, NULL), RSP_OK);
    assert_memory_equal(secret_dp, secret_euicc, 32);
    rsp_private_key_free(dp_sk);
    rsp_private_key_free(euicc_sk);
}

static void test_agreement_both_curves(void **state)
{
    (void)state;
    check_agreement(RSP_CURVE_NIST_P256);
    check_agreement(RSP_CURVE_BRAINPOOL_P256R1);

    rsp_private_key *p256 = NULL;
    rsp_private_key *brainpool = NULL;
    rsp_public_key *brainpool_public = NULL;
    uint8_t point[65];
    uint8_t secret[32];
    assert_int_equal(rsp_ecka_one_time_key(RSP_CURVE_NIST_P256, &p256, point, NULL), RSP_OK);
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &brainpool, NULL),
                     RSP_OK);
    assert_int_equal(rsp_private_key_public(brainpool, &brainpool_public, NULL), RSP_OK);
    assert_int_equal(rsp_ecka_shared_secret_key(p256, brainpool_public, secret, NULL),
                     RSP_ERR_BAD_VALUE);
    rsp_public_key_free(brainpool_public);
    rsp_private_key_free(brainpool);
    rsp_private_key_free(p256);
}

/* RFC 4231 test cases 1 and 2 (HMAC-SHA-256), several MACs under one key set up once. */
static void test_hmac_sha256_rfc4231(void **state)
{
    (void)state;
    uint8_t key1[20];
    memset(key1, 0x0B, sizeof key1);
    rsp_hmac_key *first = NULL, *second = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_hmac_key_new(key1, sizeof key1, &first, &err), RSP_OK);
    assert_int_equal(rsp_hmac_key_new((const uint8_t *)"Jefe", 4, &second, &err), RSP_OK);
    uint8_t mac[RSP_HMAC_SHA256_SIZE];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(rsp_hmac_sha256(first, (const uint8_t *)"Hi There", 8, mac), RSP_OK);
        assert_hex_equal(mac, sizeof mac,
                         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        const char *data = "what do ya want for nothing?";
        assert_int_equal(rsp_hmac_sha256(second, (const uint8_t *)data, strlen(data), mac), RSP_OK);
        assert_hex_equal(mac, sizeof mac,
                         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
    rsp_hmac_key *none = first;
    assert_int_not_equal(rsp_hmac_key_new(NULL, 0, &none, &err), RSP_OK);
    assert_null(none);
    rsp_hmac_key_free(first);
    rsp_hmac_key_free(second);
    rsp_hmac_key_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pysim_ecka_mode51),     cmocka_unit_test(test_pysim_session_keys),
        cmocka_unit_test(test_shared_info_layout),    cmocka_unit_test(test_replace_session_keys),
        cmocka_unit_test(test_agreement_both_curves), cmocka_unit_test(test_hmac_sha256_rfc4231),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
