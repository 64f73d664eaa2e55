#ifndef RSPKIT_CRYPTO_RANDOM_H
#define RSPKIT_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Cryptographically strong random bytes (OpenSSL's DRBG). */
rsp_status rsp_random_bytes(uint8_t *out, size_t len);

#endif
