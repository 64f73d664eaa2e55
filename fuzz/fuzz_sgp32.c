/* Every SGP.32 v1.2 top-level decoder (ESipa envelopes, eUICC packages and results, ES10b) on
 * hostile input. */
#include <stddef.h>
#include <stdint.h>

#include "core/sgp32.h"
#include "fuzz/message_catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_catalogue(sgp32_messages, sgp32_message_count, data, size);
    return 0;
}
