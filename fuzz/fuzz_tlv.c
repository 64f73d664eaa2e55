/* Fuzzes the TLV engine: any input must be read or rejected without touching memory outside
 * it, and whatever is accepted must be valid to walk again. */
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    der_tlv tlv;
    rsp_error err = {0};
    if (der_parse_single(der_view_make(data, size), &tlv, &err) == RSP_OK)
        (void)der_validate_tree(&tlv, 0, &err);
    return 0;
}
