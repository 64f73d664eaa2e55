#include "crypto/random.h"

#include <limits.h>
#include <openssl/rand.h>

rsp_status rsp_random_bytes(uint8_t *out, size_t len)
{
    if (len > INT_MAX)
        return RSP_ERR_INVALID_ARGUMENT;
    return RAND_bytes(out, (int)len) == 1 ? RSP_OK : RSP_ERR_CRYPTO;
}
