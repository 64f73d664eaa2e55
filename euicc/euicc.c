/* The software eUICC object: configuration, state life cycle, sessions and the card face. */
#include "euicc/euicc.h"

#include <stdlib.h>
#include <string.h>

#include "euicc/apdu.h"
#include "euicc/isdr.h"

#define DEFAULT_ROOT_DS_ADDRESS "lpa.ds.gsma.com"

typedef struct {
    void *data;
    euicc_session_free_fn free_fn;
} session_slot;

struct euicc {
    uint8_t eid[EUICC_EID_SIZE];
    const rsp_private_key *key;
    euicc_blob *euicc_certificate;
    euicc_blob *eum_certificate;
    const rsp_certificate *const *cis;
    size_t ci_count;
    der_view *ci_ids; /* borrowed from the CI certificates */
    const sgp32_version_profile *version;
    char *state_path;
    bool durable;
    euicc_clock_fn clock;
    void *clock_context;
    time_t fixed_time;
    euicc_state state;
    euicc_card *card;
    session_slot sessions[EUICC_CARD_CHANNELS][EUICC_SESSION__COUNT];
};

static void drop_channel_sessions(euicc *e, unsigned channel)
{
    for (size_t i = 0; i < EUICC_SESSION__COUNT; i++)
        euicc_session_set(e, channel, (euicc_session_id)i, NULL, NULL);
}

static rsp_status card_process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    return isdr_dispatch(ctx, channel, command, response);
}

static void card_channel_closed(void *ctx, unsigned channel)
{
    drop_channel_sessions(ctx, channel);
}

static void card_reset(void *ctx)
{
    for (unsigned channel = 0; channel < EUICC_CARD_CHANNELS; channel++)
        drop_channel_sessions(ctx, channel);
}

static const euicc_card_handler card_handler = {card_process, card_channel_closed, card_reset};

static rsp_status set_address_slot(euicc_state *s, euicc_slot_id slot, const char *address)
{
    if (address == NULL)
        return RSP_OK;
    return euicc_state_set_slot(s, slot, (const uint8_t *)address, strlen(address));
}

/* A stored identity (CLI --pki) binds the state file to one EID. */
static rsp_status check_identity(const euicc *e, rsp_error *err)
{
    der_view identity = euicc_state_slot(&e->state, EUICC_SLOT_IDENTITY);
    if (identity.data == NULL)
        return RSP_OK;
    uint8_t arena_buf[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    euicc_identity_record record;
    rsp_status status = schema_decode(&euicc_identity_record_type, identity, &record, &arena, err);
    if (status != RSP_OK)
        return status;
    if (!der_view_equal(record.eid, der_view_make(e->eid, EUICC_EID_SIZE)))
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "the state file belongs to another EID");
    return RSP_OK;
}

static rsp_status open_state(euicc *e, const euicc_config *config, rsp_error *err)
{
    euicc_state_init(&e->state);
    rsp_status status = RSP_ERR_NOT_FOUND;
    if (e->state_path != NULL)
        status = euicc_state_load(&e->state, e->state_path, err);
    if (status == RSP_OK)
        return check_identity(e, err);
    if (status != RSP_ERR_NOT_FOUND)
        return status;
    status = set_address_slot(&e->state, EUICC_SLOT_DEFAULT_DP, config->default_dp_address);
    if (status == RSP_OK)
        status = set_address_slot(&e->state, EUICC_SLOT_ROOT_DS,
                                  config->root_ds_address != NULL ? config->root_ds_address
                                                                  : DEFAULT_ROOT_DS_ADDRESS);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "cannot initialise the eUICC state");
    /* The file exists from the first start on, so tools can read it. */
    return euicc_state_commit(&e->state, e->state_path, e->durable, err);
}

static rsp_status collect_ci_ids(euicc *e, rsp_error *err)
{
    if (e->ci_count == 0)
        return RSP_OK;
    e->ci_ids = calloc(e->ci_count, sizeof(*e->ci_ids));
    if (e->ci_ids == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    for (size_t i = 0; i < e->ci_count; i++)
        if (rsp_certificate_subject_key_id(e->cis[i], &e->ci_ids[i]) != RSP_OK)
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                                 "CI certificate %zu has no subject key identifier", i);
    return RSP_OK;
}

rsp_status euicc_new(const euicc_config *config, euicc **out, rsp_error *err)
{
    *out = NULL;
    if (config == NULL || config->euicc_key == NULL || config->euicc_certificate.len == 0 ||
        config->eum_certificate.len == 0 ||
        (config->ci_count > 0 && config->ci_certificates == NULL))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "an eUICC needs a key, its certificate and the EUM certificate");
    sgp32_version_number number =
        config->sgp32_version != 0 ? config->sgp32_version : SGP32_VERSION_1_2;
    const sgp32_version_profile *version = sgp32_version_find(number);
    /* Claiming a version whose encodings the eUICC does not speak would mislead every peer. */
    if (version == NULL || !version->implemented)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0,
                             "SGP.32 version %06X is not implemented", (unsigned)number);

    euicc *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    euicc_state_init(&e->state);
    memcpy(e->eid, config->eid, EUICC_EID_SIZE);
    e->key = config->euicc_key;
    e->cis = config->ci_certificates;
    e->ci_count = config->ci_count;
    e->version = version;
    e->durable = config->durable;
    e->clock = config->clock;
    e->clock_context = config->clock_context;
    e->fixed_time = config->fixed_time;
    e->euicc_certificate =
        euicc_blob_new(config->euicc_certificate.data, config->euicc_certificate.len);
    e->eum_certificate = euicc_blob_new(config->eum_certificate.data, config->eum_certificate.len);
    if (config->state_path != NULL)
        e->state_path = strdup(config->state_path);
    e->card = euicc_card_new(&card_handler, e);
    rsp_status status = RSP_OK;
    if (e->euicc_certificate == NULL || e->eum_certificate == NULL || e->card == NULL ||
        (config->state_path != NULL && e->state_path == NULL))
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    if (status == RSP_OK)
        status = collect_ci_ids(e, err);
    if (status == RSP_OK)
        status = open_state(e, config, err);
    if (status != RSP_OK) {
        euicc_free(e);
        return status;
    }
    *out = e;
    return RSP_OK;
}

void euicc_free(euicc *e)
{
    if (e == NULL)
        return;
    for (unsigned channel = 0; channel < EUICC_CARD_CHANNELS; channel++)
        drop_channel_sessions(e, channel);
    euicc_card_free(e->card);
    euicc_state_clear(&e->state);
    euicc_blob_unref(e->euicc_certificate);
    euicc_blob_unref(e->eum_certificate);
    free(e->ci_ids);
    free(e->state_path);
    free(e);
}

size_t euicc_transmit(euicc *e, const uint8_t *apdu, size_t len, uint8_t *resp, size_t resp_cap)
{
    return euicc_card_transmit(e->card, apdu, len, resp, resp_cap);
}

void euicc_reset(euicc *e)
{
    euicc_card_reset(e->card);
}

euicc_card *euicc_get_card(euicc *e)
{
    return e->card;
}

const uint8_t *euicc_atr(const euicc *e, size_t *len)
{
    return euicc_card_atr(e->card, len);
}

rsp_status euicc_process(euicc *e, der_view es10_command, der_writer *response)
{
    return isdr_dispatch(e, 0, es10_command, response);
}

rsp_status euicc_process_on_channel(euicc *e, unsigned channel, der_view es10_command,
                                    der_writer *response)
{
    if (channel >= EUICC_CARD_CHANNELS)
        return RSP_ERR_INVALID_ARGUMENT;
    return isdr_dispatch(e, channel, es10_command, response);
}

const uint8_t *euicc_eid(const euicc *e)
{
    return e->eid;
}

euicc_state *euicc_get_state(euicc *e)
{
    return &e->state;
}

const euicc_state *euicc_get_state_const(const euicc *e)
{
    return &e->state;
}

const rsp_private_key *euicc_key(const euicc *e)
{
    return e->key;
}

der_view euicc_certificate_der(const euicc *e)
{
    return euicc_blob_view(e->euicc_certificate);
}

der_view euicc_eum_certificate_der(const euicc *e)
{
    return euicc_blob_view(e->eum_certificate);
}

const rsp_certificate *const *euicc_ci_certificates(const euicc *e, size_t *count)
{
    *count = e->ci_count;
    return e->cis;
}

const der_view *euicc_ci_key_ids(const euicc *e, size_t *count)
{
    *count = e->ci_count;
    return e->ci_ids;
}

const sgp32_version_profile *euicc_sgp32_version(const euicc *e)
{
    return e->version;
}

time_t euicc_now(const euicc *e)
{
    if (e->clock != NULL)
        return e->clock(e->clock_context);
    return e->fixed_time;
}

const char *euicc_state_path(const euicc *e)
{
    return e->state_path;
}

bool euicc_durable(const euicc *e)
{
    return e->durable;
}

size_t euicc_bytes_held(const euicc *e)
{
    size_t total = euicc_state_bytes_held(&e->state);
    total += euicc_certificate_der(e).len + euicc_eum_certificate_der(e).len;
    total += e->ci_count * sizeof(der_view);
    total += e->state_path != NULL ? strlen(e->state_path) + 1 : 0;
    total += EUICC_CARD_IDLE_BYTES + euicc_card_bytes_held(e->card);
    return total;
}

void *euicc_session_get(euicc *e, unsigned channel, euicc_session_id id)
{
    if (channel >= EUICC_CARD_CHANNELS || id >= EUICC_SESSION__COUNT)
        return NULL;
    return e->sessions[channel][id].data;
}

void euicc_session_set(euicc *e, unsigned channel, euicc_session_id id, void *data,
                       euicc_session_free_fn free_fn)
{
    if (channel >= EUICC_CARD_CHANNELS || id >= EUICC_SESSION__COUNT)
        return;
    session_slot *slot = &e->sessions[channel][id];
    if (slot->data != NULL && slot->free_fn != NULL && slot->data != data)
        slot->free_fn(slot->data);
    slot->data = data;
    slot->free_fn = data != NULL ? free_fn : NULL;
}
