/* Fuzzes the BSP receiver with fixed keys. The first input byte picks a mode:
 *  0: the rest is a sequence of 86 segments for decrypt_all (nearly all fail the MAC);
 *  1: the rest is a sequence of 88 segments for verify_all;
 *  2: the rest is one segment for decrypt_segment, then a second call must be refused;
 *  3: the rest is ciphertext MACed by a sender as if valid, so padding and block checks
 *     behind the MAC see fuzzer-controlled plaintext;
 *  4: the rest is plaintext: protect_all then decrypt_all must give it back exactly.
 * Nothing may crash, leak or read outside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rsp_bsp_keys fixed_keys = {
    .initial_mcv = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C,
                    0x2D, 0x2E, 0x2F},
    .s_enc = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D,
              0x0E, 0x0F},
    .s_mac = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D,
              0x1E, 0x1F},
};

static void must(int condition)
{
    if (!condition)
        abort();
}

static void fuzz_sequence(uint8_t tag, bool encrypted, const uint8_t *data, size_t size)
{
    rsp_bsp_session receiver;
    der_writer out;
    must(rsp_bsp_session_init(&receiver, RSP_BSP_RECEIVER, &fixed_keys, NULL) == RSP_OK);
    der_writer_init_dynamic(&out, NULL);
    rsp_error err = {0};
    rsp_status status = encrypted ? rsp_bsp_decrypt_all(&receiver, tag, data, size, &out, &err)
                                  : rsp_bsp_verify_all(&receiver, tag, data, size, &out, &err);
    must(status == RSP_OK || receiver.broken);
    der_writer_free(&out);
    rsp_bsp_session_cleanup(&receiver);
}

static void fuzz_one_segment(const uint8_t *data, size_t size)
{
    rsp_bsp_session receiver;
    uint8_t plain[RSP_BSP_DATA_MAX];
    size_t plain_len = 0;
    must(rsp_bsp_session_init(&receiver, RSP_BSP_RECEIVER, &fixed_keys, NULL) == RSP_OK);
    rsp_status status =
        rsp_bsp_decrypt_segment(&receiver, 0x86, data, size, plain, sizeof plain, &plain_len, NULL);
    if (status != RSP_OK)
        must(rsp_bsp_decrypt_segment(&receiver, 0x86, data, size, plain, sizeof plain, &plain_len,
                                     NULL) == RSP_ERR_STATE);
    else
        must(plain_len < size);
    rsp_bsp_session_cleanup(&receiver);
}

static void fuzz_maced_ciphertext(const uint8_t *data, size_t size)
{
    rsp_bsp_session sender;
    rsp_bsp_session receiver;
    uint8_t segment[RSP_BSP_SEGMENT_MAX];
    uint8_t plain[RSP_BSP_DATA_MAX];
    size_t segment_len = 0;
    size_t plain_len = 0;
    if (size > RSP_BSP_PLAINTEXT_MAX_MAC_ONLY)
        size = RSP_BSP_PLAINTEXT_MAX_MAC_ONLY;
    must(rsp_bsp_session_init(&sender, RSP_BSP_SENDER, &fixed_keys, NULL) == RSP_OK);
    must(rsp_bsp_session_init(&receiver, RSP_BSP_RECEIVER, &fixed_keys, NULL) == RSP_OK);
    must(rsp_bsp_mac_segment(&sender, 0x86, data, size, segment, sizeof segment, &segment_len,
                             NULL) == RSP_OK);
    rsp_status status = rsp_bsp_decrypt_segment(&receiver, 0x86, segment, segment_len, plain,
                                                sizeof plain, &plain_len, NULL);
    /* Passing the MAC, only block shape and padding decide. */
    if (size == 0 || size % RSP_BSP_BLOCK_SIZE != 0)
        must(status == RSP_ERR_BAD_VALUE);
    if (status == RSP_OK)
        must(plain_len < size && size - plain_len <= RSP_BSP_BLOCK_SIZE);
    rsp_bsp_session_cleanup(&sender);
    rsp_bsp_session_cleanup(&receiver);
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
    rsp_bsp_session sender;
    rsp_bsp_session receiver;
    der_writer protected_data;
    der_writer plain;
    must(rsp_bsp_session_init(&sender, RSP_BSP_SENDER, &fixed_keys, NULL) == RSP_OK);
    must(rsp_bsp_session_init(&receiver, RSP_BSP_RECEIVER, &fixed_keys, NULL) == RSP_OK);
    der_writer_init_dynamic(&protected_data, NULL);
    der_writer_init_dynamic(&plain, NULL);
    must(rsp_bsp_encrypt_all(&sender, 0x86, data, size, &protected_data, NULL) == RSP_OK);
    must(rsp_bsp_decrypt_all(&receiver, 0x86, protected_data.buf, protected_data.len, &plain,
                             NULL) == RSP_OK);
    must(plain.len == size && (size == 0 || memcmp(plain.buf, data, size) == 0));
    der_writer_free(&protected_data);
    der_writer_free(&plain);
    rsp_bsp_session_cleanup(&sender);
    rsp_bsp_session_cleanup(&receiver);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *rest = data + 1;
    size_t rest_len = size - 1;
    switch (data[0] % 5) {
    case 0:
        fuzz_sequence(0x86, true, rest, rest_len);
        break;
    case 1:
        fuzz_sequence(0x88, false, rest, rest_len);
        break;
    case 2:
        fuzz_one_segment(rest, rest_len);
        break;
    case 3:
        fuzz_maced_ciphertext(rest, rest_len);
        break;
    default:
        fuzz_round_trip(rest, rest_len);
        break;
    }
    return 0;
}
