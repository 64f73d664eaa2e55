/* libFuzzer target: the eUICC as a card, fed arbitrary APDU sequences through euicc_transmit
 * (ISO/IEC 7816-4 front end, logical channels, SELECT, STORE DATA chains, GET RESPONSE, and the
 * ES10 commands behind them). Seeds in fuzz/corpus/euicc_apdu.
 *
 * Input: a sequence of APDUs, each one length byte followed by that many bytes; a length byte
 * 0 is a card reset. The eUICC identity is generated in memory once; every input gets a fresh
 * memory-only eUICC on a prepared state (two profiles, an eIM, pending notifications).
 * Checked: no crash, leak or sanitizer report; every response is at least a status word, fits
 * the buffer, and carries a status word from ISO/IEC 7816-4 (61xx, 62xx-6Fxx, 9000); data
 * only comes with 9000 or 61xx. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "euicc/euicc.h"
#include "euicc/state.h"
#include "euicc_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool status_word_valid(const uint8_t *response, size_t len)
{
    uint8_t sw1 = response[len - 2];
    if (sw1 == 0x90)
        return response[len - 1] == 0x00;
    if (sw1 == 0x61)
        return true;
    /* an error or warning carries no data */
    return sw1 >= 0x62 && sw1 <= 0x6F && len == 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_world *w = world(false);
    euicc *e = NULL;
    rsp_error err = {0};
    if (euicc_new(&w->config, &e, &err) != RSP_OK)
        abort();
    if (euicc_state_decode(euicc_get_state(e), der_view_make(w->base_state, w->base_state_len),
                           &err) != RSP_OK)
        abort();
    /* a reader with room for 256 data bytes and the status word */
    uint8_t response[258];
    size_t offset = 0;
    while (offset < size) {
        size_t len = data[offset++];
        if (len > size - offset)
            len = size - offset;
        if (len == 0) {
            euicc_reset(e);
            continue;
        }
        size_t answer = euicc_transmit(e, data + offset, len, response, sizeof response);
        if (answer < 2 || answer > sizeof response || !status_word_valid(response, answer))
            abort();
        offset += len;
    }
    euicc_free(e);
    return 0;
}
