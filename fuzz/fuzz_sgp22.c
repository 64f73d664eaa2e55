/* Every SGP.22 top-level decoder (ES10a/b/c, ES9+ ASN.1 forms, BPP parts) on hostile input. */
#include <stddef.h>
#include <stdint.h>

#include "core/sgp22.h"
#include "fuzz/message_catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_catalogue(sgp22_messages, sgp22_message_count, data, size);
    return 0;
}
