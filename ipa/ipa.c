/* libipa instance: allocation through the platform hook with accounting, storage helpers,
 * back-off. */
#include <stdlib.h>
#include <string.h>

#include "ipa/ipa_internal.h"

/* Every block carries its size in front so that the instance can account for what it holds;
 * the header keeps max_align_t alignment. */
typedef union {
    size_t size;
    max_align_t align;
} ipa_block_header;

static void *platform_realloc(ipa_instance *ipa, void *ptr, size_t size)
{
    if (ipa->platform.realloc_fn)
        return ipa->platform.realloc_fn(ipa->platform.alloc_ctx, ptr, size);
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

static void account(ipa_instance *ipa, size_t freed, size_t added)
{
    ipa->bytes_held = ipa->bytes_held - freed + added;
    if (ipa->bytes_held > ipa->peak_bytes)
        ipa->peak_bytes = ipa->bytes_held;
}

static void *tracking_realloc(void *ctx, void *ptr, size_t size)
{
    ipa_instance *self = ctx;
    ipa_block_header *old = ptr ? (ipa_block_header *)ptr - 1 : NULL;
    size_t old_size = old ? old->size : 0;
    if (size == 0) {
        if (old) {
            account(self, old_size + sizeof *old, 0);
            platform_realloc(self, old, 0);
        }
        return NULL;
    }
    if (size > SIZE_MAX - sizeof(ipa_block_header))
        return NULL;
    ipa_block_header *block = platform_realloc(self, old, size + sizeof *block);
    if (!block)
        return NULL;
    account(self, old ? old_size + sizeof *block : 0, size + sizeof *block);
    block->size = size;
    return block + 1;
}

void *ipa_alloc(ipa_instance *ipa, size_t size)
{
    return tracking_realloc(ipa, NULL, size);
}

void ipa_release(ipa_instance *ipa, void *ptr)
{
    if (ptr)
        tracking_realloc(ipa, ptr, 0);
}

void ipa_writer_init(ipa_instance *ipa, der_writer *w)
{
    der_writer_init_dynamic(w, &ipa->allocator);
}

rsp_status ipa_new(const ipa_platform *platform, const ipa_config *config, ipa_instance **out,
                   rsp_error *err)
{
    *out = NULL;
    if (!platform || !platform->apdu_transmit || !platform->http_post || !platform->storage_read ||
        !platform->storage_write || !platform->storage_remove)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "ipa: APDU, HTTP and storage hooks are required");
    ipa_instance probe = {.platform = *platform};
    ipa_instance *self = platform_realloc(&probe, NULL, sizeof *self);
    if (!self)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    memset(self, 0, sizeof *self);
    self->platform = *platform;
    if (config)
        self->config = *config;
    if (self->config.max_packages_per_poll == 0)
        self->config.max_packages_per_poll = 16;
    if (self->config.backoff_base_ms == 0)
        self->config.backoff_base_ms = 5000;
    if (self->config.backoff_max_ms == 0)
        self->config.backoff_max_ms = 3600u * 1000u;
    if (self->config.rollback_after_failures == 0)
        self->config.rollback_after_failures = 3;
    self->allocator.realloc_fn = tracking_realloc;
    self->allocator.ctx = self;
    self->random_state = 0x9E3779B9u ^ (uint32_t)(uintptr_t)self;
    self->bytes_held = self->peak_bytes = sizeof *self;
    *out = self;
    return RSP_OK;
}

void ipa_free(ipa_instance *ipa)
{
    if (!ipa)
        return;
    ipa_close(ipa);
    ipa_release(ipa, ipa->tls_pin);
    platform_realloc(ipa, ipa, 0);
}

const uint8_t *ipa_eid(const ipa_instance *ipa)
{
    return ipa->eid;
}

size_t ipa_bytes_held(const ipa_instance *ipa)
{
    return ipa->bytes_held;
}

size_t ipa_peak_bytes(const ipa_instance *ipa)
{
    return ipa->peak_bytes;
}

void ipa_set_state_change(ipa_instance *ipa, int64_t cause)
{
    ipa->has_state_change = true;
    ipa->state_change_cause = cause;
}

void ipa_set_rplmn(ipa_instance *ipa, const uint8_t plmn[3])
{
    ipa->has_rplmn = plmn != NULL;
    if (plmn)
        memcpy(ipa->rplmn, plmn, sizeof ipa->rplmn);
}

static uint32_t next_random(ipa_instance *ipa)
{
    if (ipa->platform.random_fn)
        return ipa->platform.random_fn(ipa->platform.random_ctx);
    /* xorshift32: jitter only needs to de-correlate a fleet, not to be unpredictable */
    uint32_t x = ipa->random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ipa->random_state = x;
    return x;
}

uint32_t ipa_backoff_ms(ipa_instance *ipa, unsigned failures)
{
    if (failures == 0)
        return 0;
    uint64_t delay = ipa->config.backoff_base_ms;
    for (unsigned i = 1; i < failures && delay < ipa->config.backoff_max_ms; i++)
        delay *= 2;
    if (delay > ipa->config.backoff_max_ms)
        delay = ipa->config.backoff_max_ms;
    /* +-25% jitter so that devices that failed together do not retry together */
    uint64_t spread = delay / 2;
    if (spread > 0)
        delay = delay - delay / 4 + next_random(ipa) % (spread + 1);
    return (uint32_t)delay;
}

rsp_status ipa_storage_read(ipa_instance *ipa, const char *key, der_writer *out, rsp_error *err)
{
    rsp_error local = {0};
    rsp_status st = ipa->platform.storage_read(ipa->platform.storage_ctx, key, out, &local);
    if (st == RSP_ERR_NOT_FOUND)
        return RSP_OK;
    if (st != RSP_OK) {
        if (err && err->code == RSP_OK)
            *err = local;
        return rsp_error_set(err, st, 0, 0, "ipa: storage read of %s failed", key);
    }
    return RSP_OK;
}

rsp_status ipa_storage_write(ipa_instance *ipa, const char *key, der_view value, rsp_error *err)
{
    rsp_error local = {0};
    rsp_status st = ipa->platform.storage_write(ipa->platform.storage_ctx, key, value, &local);
    if (st != RSP_OK)
        return rsp_error_set(err, st, 0, 0, "ipa: storage write of %s failed: %s", key,
                             local.message);
    return RSP_OK;
}

rsp_status ipa_storage_remove(ipa_instance *ipa, const char *key, rsp_error *err)
{
    rsp_error local = {0};
    rsp_status st = ipa->platform.storage_remove(ipa->platform.storage_ctx, key, &local);
    if (st != RSP_OK && st != RSP_ERR_NOT_FOUND)
        return rsp_error_set(err, st, 0, 0, "ipa: storage remove of %s failed: %s", key,
                             local.message);
    return RSP_OK;
}
