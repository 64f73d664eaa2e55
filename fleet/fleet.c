/* Fleet simulator: devices, scheduler (min-heap of next-poll times), worker pool, failure
 * injection. See fleet/fleet.h. */
#include "fleet/fleet.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/state.h"
#include "ipa/ipa.h"
#include "ipa/platform/platform.h"

#define FLEET_PATH_MAX     512
#define FLEET_STORAGE_KEYS 4
#define FLEET_NOT_IN_HEAP  SIZE_MAX
#define FLEET_DUE_WOKEN    0u /* due time of a woken device: before any scheduled poll */
#define FLEET_RESPONSE_MAX 65536
#define FLEET_MAX_WORKERS  64
#define FLEET_EID_PREFIX   "89049032"
#define FLEET_MAX_ELEMENTS 512

/* The IPA's persistent storage kept in memory: the device's "flash". */
typedef struct {
    char key[16];
    uint8_t *data;
    size_t len;
} storage_slot;

typedef struct fleet_device {
    fleet *owner;
    size_t index;
    pthread_mutex_t lock;
    euicc *card;
    ipa_instance *ipa;
    rsp_private_key *key;
    int64_t association_token;
    storage_slot slots[FLEET_STORAGE_KEYS];
    ipa_file_storage *files; /* state_dir mode */
    /* scheduler (under fleet->lock) */
    uint64_t due_ms;
    size_t heap_pos;
    bool running;
    bool poll_again;
    /* poll (under device lock) */
    unsigned failures;
    unsigned power_cut_in; /* HTTP requests left before the power cut (0: none planned) */
    bool power_cut_before_result;
    bool powered_off;
    uint32_t rng;
} fleet_device;

typedef struct {
    fleet *owner;
    pthread_t thread;
    ipa_http *http;
    bool started;
} fleet_worker;

struct fleet {
    fleet_config config;
    char eim_fqdn[256];
    char eim_id[129];
    char tls_ca[FLEET_PATH_MAX];
    char state_dir[FLEET_PATH_MAX];
    rsp_certificate *ci;
    const rsp_certificate *ci_list[1];
    rsp_certificate *eum;
    rsp_private_key *eum_key;
    uint8_t *eim_spki;
    size_t eim_spki_len;
    fleet_device *devices;
    size_t count;
    /* scheduler */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    size_t *heap;
    size_t heap_len;
    bool stopping;
    fleet_worker workers[FLEET_MAX_WORKERS];
    unsigned worker_count;
    /* fault injection, changed at run time */
    _Atomic double drop_rate;
    _Atomic uint32_t delay_ms;
    _Atomic double reboot_rate;
    atomic_bool lose_answers;
    /* figures */
    atomic_uint_fast64_t polls, poll_failures, packages, results, notifications, http_requests,
        http_dropped, reboots, polls_running;
};

/* The worker running the current thread's poll: its HTTPS client serves the device's IPA. */
static _Thread_local fleet_worker *current_worker;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state != 0 ? *state : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static double random_unit(uint32_t *state)
{
    return (double)(next_random(state) >> 8) / (double)(1u << 24);
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- platform hooks of one device ---------------------------------------------------- */

static rsp_status device_apdu(void *ctx, const uint8_t *command, size_t command_len,
                              uint8_t *response, size_t response_cap, size_t *response_len,
                              rsp_error *err)
{
    fleet_device *d = ctx;
    if (d->powered_off)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "device powered off");
    size_t n = euicc_transmit(d->card, command, command_len, response, response_cap);
    if (n < 2)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "eUICC gave no response");
    *response_len = n;
    return RSP_OK;
}

static rsp_status device_http(void *ctx, const ipa_http_request *request, der_writer *response,
                              long *http_status, rsp_error *err)
{
    fleet_device *d = ctx;
    fleet *f = d->owner;
    if (d->powered_off)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "device powered off");
    if (d->power_cut_in > 0 && --d->power_cut_in == 0) {
        d->powered_off = true;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "power cut (injected)");
    }
    if (d->power_cut_before_result && request->body.len >= 2 && request->body.data[0] == 0xBF &&
        request->body.data[1] == 0x50) {
        d->power_cut_before_result = false;
        d->powered_off = true;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "power cut before the result (injected)");
    }
    atomic_fetch_add(&f->http_requests, 1);
    uint32_t delay = atomic_load(&f->delay_ms);
    if (delay > 0)
        sleep_ms(delay);
    double drop = atomic_load(&f->drop_rate);
    double draw = drop > 0 ? random_unit(&d->rng) : 1.0;
    /* Half the drops lose the request, half lose the answer after the server acted on it
     * (unless answers are spared: then every drop loses the request). */
    bool answers = atomic_load(&f->lose_answers);
    if (draw < (answers ? drop / 2 : drop)) {
        atomic_fetch_add(&f->http_dropped, 1);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "request dropped (injected)");
    }
    if (current_worker == NULL || current_worker->http == NULL)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "no HTTP client on this thread");
    rsp_status status = ipa_http_post(current_worker->http, request, response, http_status, err);
    if (status == RSP_OK && draw < drop) {
        atomic_fetch_add(&f->http_dropped, 1);
        response->len = 0;
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "answer lost (injected)");
    }
    return status;
}

static storage_slot *find_slot(fleet_device *d, const char *key, bool create)
{
    storage_slot *free_slot = NULL;
    for (size_t i = 0; i < FLEET_STORAGE_KEYS; i++) {
        if (d->slots[i].key[0] != '\0' && strcmp(d->slots[i].key, key) == 0)
            return &d->slots[i];
        if (d->slots[i].key[0] == '\0' && free_slot == NULL)
            free_slot = &d->slots[i];
    }
    if (create && free_slot != NULL && strlen(key) < sizeof free_slot->key) {
        strcpy(free_slot->key, key);
        return free_slot;
    }
    return NULL;
}

static rsp_status memory_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    storage_slot *slot = find_slot(ctx, key, false);
    if (slot == NULL)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s: not stored", key);
    der_put_raw(out, slot->data, slot->len);
    return out->status != RSP_OK ? rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "storage read")
                                 : RSP_OK;
}

static rsp_status memory_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    storage_slot *slot = find_slot(ctx, key, true);
    uint8_t *copy = malloc(value.len > 0 ? value.len : 1);
    if (slot == NULL || copy == NULL) {
        free(copy);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "storage full: %s", key);
    }
    if (value.len > 0)
        memcpy(copy, value.data, value.len);
    free(slot->data);
    slot->data = copy;
    slot->len = value.len;
    return RSP_OK;
}

static rsp_status memory_remove(void *ctx, const char *key, rsp_error *err)
{
    (void)err;
    storage_slot *slot = find_slot(ctx, key, false);
    if (slot != NULL) {
        free(slot->data);
        memset(slot, 0, sizeof *slot);
    }
    return RSP_OK;
}

static void device_platform(fleet_device *d, ipa_platform *p)
{
    memset(p, 0, sizeof *p);
    p->apdu_transmit = device_apdu;
    p->apdu_ctx = d;
    p->http_post = device_http;
    p->http_ctx = d;
    if (d->files != NULL) {
        p->storage_read = ipa_file_storage_read;
        p->storage_write = ipa_file_storage_write;
        p->storage_remove = ipa_file_storage_remove;
        p->storage_ctx = d->files;
    } else {
        p->storage_read = memory_read;
        p->storage_write = memory_write;
        p->storage_remove = memory_remove;
        p->storage_ctx = d;
    }
}

static rsp_status device_ipa_new(fleet_device *d, rsp_error *err)
{
    ipa_platform platform;
    device_platform(d, &platform);
    /* eim_url NULL: the IPA takes the eIM address from the eUICC's configuration. */
    ipa_config config = {.backoff_base_ms = d->owner->config.backoff_base_ms,
                         .backoff_max_ms = d->owner->config.backoff_max_ms,
                         .direct_download = d->owner->config.direct_download};
    return ipa_new(&platform, &config, &d->ipa, err);
}

/* ---- identities ---------------------------------------------------------------------- */

void fleet_device_eid(const fleet *f, size_t index, char eid[FLEET_EID_STRING_SIZE])
{
    char first[48];
    snprintf(first, sizeof first, "%s%06u%016llu", FLEET_EID_PREFIX, f->config.fleet_id % 1000000u,
             (unsigned long long)(index % 10000000000000000ull));
    first[30] = '\0';
    if (rsp_eid_complete(first, eid) != RSP_OK)
        eid[0] = '\0';
}

size_t fleet_find_eid(const fleet *f, const char *eid)
{
    char prefix[15];
    snprintf(prefix, sizeof prefix, "%s%06u", FLEET_EID_PREFIX, f->config.fleet_id % 1000000u);
    if (eid == NULL || strlen(eid) != 32 || strncmp(eid, prefix, 14) != 0)
        return SIZE_MAX;
    char digits[17];
    memcpy(digits, eid + 14, 16);
    digits[16] = '\0';
    size_t index = (size_t)strtoull(digits, NULL, 10);
    char check[FLEET_EID_STRING_SIZE];
    if (index >= f->count)
        return SIZE_MAX;
    fleet_device_eid(f, index, check);
    return strcmp(check, eid) == 0 ? index : SIZE_MAX;
}

static rsp_status issue_euicc_certificate(fleet *f, const char *eid, const rsp_private_key *key,
                                          rsp_certificate **out, rsp_error *err)
{
    rsp_public_key *pub = NULL;
    rsp_status status = rsp_private_key_public(key, &pub, err);
    if (status == RSP_OK) {
        rsp_pki_certificate_request request = {.role = RSP_CERT_ROLE_EUICC,
                                               .eid = eid,
                                               .subject_key = pub,
                                               .issuer = f->eum,
                                               .issuer_key = f->eum_key};
        status = rsp_pki_issue_certificate(&request, out, err);
    }
    rsp_public_key_free(pub);
    return status;
}

/* AddInitialEim with the eIM's key and a token request (-1), SGP.32 v1.2 section 5.9.12. */
static rsp_status add_initial_eim(fleet *f, fleet_device *d, rsp_error *err)
{
    sgp32_eim_configuration_data eim;
    memset(&eim, 0, sizeof eim);
    eim.eim_id = der_view_make((const uint8_t *)f->eim_id, strlen(f->eim_id));
    eim.has_eim_fqdn = true;
    eim.eim_fqdn = der_view_make((const uint8_t *)f->eim_fqdn, strlen(f->eim_fqdn));
    eim.has_counter_value = true;
    eim.counter_value = 0;
    eim.has_association_token = true;
    eim.association_token = -1;
    eim.has_eim_public_key_data = true;
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    eim.eim_public_key_data.u.eim_public_key = der_view_make(f->eim_spki, f->eim_spki_len);
    sgp32_add_initial_eim_request request = {{1, &eim}};
    der_writer command, answer;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&answer, NULL);
    rsp_status status = schema_encode(&sgp32_add_initial_eim_request_type, &request, &command);
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "AddInitialEim does not encode");
    if (status == RSP_OK)
        status = ipa_add_initial_eim(d->ipa, der_writer_view(&command), &answer, err);
    if (status == RSP_OK) {
        uint8_t arena_buf[2048];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        sgp32_add_initial_eim_response response;
        status = schema_decode(&sgp32_add_initial_eim_response_type, der_writer_view(&answer),
                               &response, &arena, err);
        if (status == RSP_OK &&
            (response.choice != SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_OK ||
             response.u.add_initial_eim_ok.count != 1))
            status = rsp_error_set(err, RSP_ERR_STATE, 0xBF57, 0, "AddInitialEim refused");
        if (status == RSP_OK) {
            const sgp32_add_initial_eim_ok_item *item = response.u.add_initial_eim_ok.items;
            d->association_token = item->choice == SGP32_ADD_INITIAL_EIM_OK_ASSOCIATION_TOKEN
                                       ? item->u.association_token
                                       : 0;
        }
    }
    der_writer_free(&command);
    der_writer_free(&answer);
    return status;
}

static rsp_status device_card_new(fleet *f, fleet_device *d, der_view euicc_certificate,
                                  rsp_error *err)
{
    char eid_text[FLEET_EID_STRING_SIZE];
    fleet_device_eid(f, d->index, eid_text);
    euicc_config config;
    memset(&config, 0, sizeof config);
    der_hex_decode(eid_text, config.eid, sizeof config.eid);
    config.euicc_key = d->key;
    config.euicc_certificate = euicc_certificate;
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->ci_list;
    config.ci_count = 1;
    char path[FLEET_PATH_MAX + 64];
    if (f->state_dir[0] != '\0') {
        snprintf(path, sizeof path, "%s/%s/euicc.state", f->state_dir, eid_text);
        config.state_path = path;
    }
    config.durable = false;
    return euicc_new(&config, &d->card, err);
}

static rsp_status provision_device(fleet *f, fleet_device *d, rsp_error *err)
{
    char eid[FLEET_EID_STRING_SIZE];
    fleet_device_eid(f, d->index, eid);
    d->rng = (uint32_t)(f->config.seed * 2654435761u) ^ (uint32_t)(d->index * 40503u + 1u);
    rsp_certificate *cert = NULL;
    rsp_status status = rsp_private_key_generate(RSP_CURVE_NIST_P256, &d->key, err);
    if (status == RSP_OK)
        status = issue_euicc_certificate(f, eid, d->key, &cert, err);
    if (status == RSP_OK && f->state_dir[0] != '\0') {
        char dir[FLEET_PATH_MAX + 40];
        snprintf(dir, sizeof dir, "%s/%s", f->state_dir, eid);
        d->files = calloc(1, sizeof *d->files);
        status = d->files == NULL ? rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory")
                                  : ipa_file_storage_init(d->files, dir, false, err);
    }
    if (status == RSP_OK)
        status = device_card_new(f, d, rsp_certificate_der(cert), err);
    if (status == RSP_OK)
        status = device_ipa_new(d, err);
    if (status == RSP_OK)
        status = add_initial_eim(f, d, err);
    /* The card keeps its own copy of the certificate; the channel is closed while idle. */
    if (d->ipa != NULL)
        ipa_close(d->ipa);
    rsp_certificate_free(cert);
    return status;
}

typedef struct {
    fleet *owner;
    size_t first, step;
    rsp_status status;
    rsp_error err;
} provision_job;

static void *provision_thread(void *arg)
{
    provision_job *job = arg;
    fleet *f = job->owner;
    prctl(PR_SET_NAME, FLEET_WORKER_THREAD_NAME, 0, 0, 0);
    for (size_t i = job->first; i < f->count && job->status == RSP_OK; i += job->step) {
        job->status = provision_device(f, &f->devices[i], &job->err);
        if (!f->config.quiet && job->first == 0 && i % 1000 < job->step && i > 0 &&
            isatty(STDERR_FILENO))
            fprintf(stderr, "\rfleet: provisioned %zu/%zu devices", i, f->count);
    }
    return NULL;
}

/* ---- scheduler ----------------------------------------------------------------------- */

static bool heap_less(const fleet *f, size_t a, size_t b)
{
    return f->devices[f->heap[a]].due_ms < f->devices[f->heap[b]].due_ms;
}

static void heap_swap(fleet *f, size_t a, size_t b)
{
    size_t t = f->heap[a];
    f->heap[a] = f->heap[b];
    f->heap[b] = t;
    f->devices[f->heap[a]].heap_pos = a;
    f->devices[f->heap[b]].heap_pos = b;
}

static void heap_up(fleet *f, size_t pos)
{
    while (pos > 0 && heap_less(f, pos, (pos - 1) / 2)) {
        heap_swap(f, pos, (pos - 1) / 2);
        pos = (pos - 1) / 2;
    }
}

static void heap_down(fleet *f, size_t pos)
{
    for (;;) {
        size_t left = 2 * pos + 1, right = left + 1, smallest = pos;
        if (left < f->heap_len && heap_less(f, left, smallest))
            smallest = left;
        if (right < f->heap_len && heap_less(f, right, smallest))
            smallest = right;
        if (smallest == pos)
            return;
        heap_swap(f, pos, smallest);
        pos = smallest;
    }
}

static void heap_push(fleet *f, size_t device, uint64_t due)
{
    f->devices[device].due_ms = due;
    f->devices[device].heap_pos = f->heap_len;
    f->heap[f->heap_len++] = device;
    heap_up(f, f->heap_len - 1);
}

static size_t heap_pop(fleet *f)
{
    size_t top = f->heap[0];
    f->heap_len--;
    if (f->heap_len > 0) {
        f->heap[0] = f->heap[f->heap_len];
        f->devices[f->heap[0]].heap_pos = 0;
        heap_down(f, 0);
    }
    f->devices[top].heap_pos = FLEET_NOT_IN_HEAP;
    return top;
}

static uint32_t next_delay(fleet *f, fleet_device *d, bool failed)
{
    if (failed) {
        uint64_t delay = (uint64_t)f->config.backoff_base_ms
                         << (d->failures < 16 ? d->failures : 16);
        delay = delay > f->config.backoff_max_ms ? f->config.backoff_max_ms : delay;
        /* +-25% jitter so that devices failing together do not retry together */
        uint32_t quarter = (uint32_t)(delay / 4);
        return (uint32_t)delay - quarter + (quarter > 0 ? next_random(&d->rng) % (2 * quarter) : 0);
    }
    uint32_t jitter = f->config.poll_jitter_ms;
    return f->config.poll_interval_ms + (jitter > 0 ? next_random(&d->rng) % (jitter + 1) : 0);
}

/* Power comes back: the IPA instance and the card's channels are gone, the eUICC state and
 * the IPA storage are what the device kept. */
static void device_reboot(fleet *f, fleet_device *d)
{
    ipa_free(d->ipa); /* its MANAGE CHANNEL close fails: the card is off */
    d->ipa = NULL;
    d->powered_off = false;
    d->power_cut_in = 0;
    if (f->state_dir[0] != '\0') {
        der_view certificate = euicc_certificate_der(d->card);
        uint8_t *copy = malloc(certificate.len);
        if (copy != NULL) {
            memcpy(copy, certificate.data, certificate.len);
            euicc_free(d->card);
            d->card = NULL;
            rsp_error err = {0};
            if (device_card_new(f, d, der_view_make(copy, certificate.len), &err) != RSP_OK)
                fprintf(stderr, "fleet: device %zu lost its state on reboot: %s\n", d->index,
                        err.message);
            free(copy);
        }
    } else {
        euicc_reset(d->card);
    }
    atomic_fetch_add(&f->reboots, 1);
}

static void run_poll(fleet *f, fleet_device *d)
{
    pthread_mutex_lock(&d->lock);
    double reboot = atomic_load(&f->reboot_rate);
    if (reboot > 0 && d->power_cut_in == 0 && random_unit(&d->rng) < reboot)
        d->power_cut_in = 1 + next_random(&d->rng) % 4;
    rsp_error err = {0};
    rsp_status status = RSP_OK;
    if (d->card == NULL)
        status = rsp_error_set(&err, RSP_ERR_STATE, 0, 0, "no card");
    if (status == RSP_OK && d->ipa == NULL)
        status = device_ipa_new(d, &err);
    ipa_poll_report report = {0};
    if (status == RSP_OK)
        status = ipa_poll_once(d->ipa, &report, &err);
    atomic_fetch_add(&f->polls, 1);
    atomic_fetch_add(&f->packages, report.packages);
    atomic_fetch_add(&f->results, report.results_delivered);
    atomic_fetch_add(&f->notifications, report.notifications_sent);
    bool failed = status != RSP_OK || report.pending_left;
    if (failed)
        atomic_fetch_add(&f->poll_failures, 1);
    if (d->powered_off)
        device_reboot(f, d);
    else if (d->ipa != NULL)
        ipa_close(d->ipa); /* idle devices hold no channel */
    d->failures = failed ? d->failures + 1 : 0;
    uint32_t delay = next_delay(f, d, failed);
    pthread_mutex_unlock(&d->lock);

    pthread_mutex_lock(&f->lock);
    d->running = false;
    heap_push(f, d->index, d->poll_again ? FLEET_DUE_WOKEN : now_ms() + delay);
    d->poll_again = false;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

static void *worker_main(void *arg)
{
    fleet_worker *w = arg;
    fleet *f = w->owner;
    current_worker = w;
    /* named so that profiles and the per-component CPU figures tell devices from servers */
    prctl(PR_SET_NAME, FLEET_WORKER_THREAD_NAME, 0, 0, 0);
    pthread_mutex_lock(&f->lock);
    while (!f->stopping) {
        if (f->heap_len == 0) {
            pthread_cond_wait(&f->wake, &f->lock);
            continue;
        }
        uint64_t now = now_ms();
        uint64_t due = f->devices[f->heap[0]].due_ms;
        if (due > now) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            uint64_t wait = due - now;
            until.tv_sec += (time_t)(wait / 1000u);
            until.tv_nsec += (long)(wait % 1000u) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&f->wake, &f->lock, &until);
            continue;
        }
        size_t index = heap_pop(f);
        f->devices[index].running = true;
        atomic_fetch_add(&f->polls_running, 1);
        pthread_mutex_unlock(&f->lock);
        run_poll(f, &f->devices[index]);
        atomic_fetch_sub(&f->polls_running, 1);
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static rsp_status load_pki(fleet *f, rsp_error *err)
{
    char path[FLEET_PATH_MAX + 64];
    const char *dir = f->config.pki_dir;
    snprintf(path, sizeof path, "%s/nist/CERT_CI_ECDSA.der", dir);
    rsp_status status = rsp_certificate_load_file(path, &f->ci, err);
    if (status == RSP_OK) {
        f->ci_list[0] = f->ci;
        snprintf(path, sizeof path, "%s/nist/CERT_EUM_ECDSA.der", dir);
        status = rsp_certificate_load_file(path, &f->eum, err);
    }
    if (status == RSP_OK) {
        snprintf(path, sizeof path, "%s/nist/SK_EUM_ECDSA.pem", dir);
        status = rsp_private_key_load_file(path, &f->eum_key, err);
    }
    rsp_certificate *eim = NULL;
    if (status == RSP_OK) {
        snprintf(path, sizeof path, "%s/nist/CERT_EIM_ECDSA.der", dir);
        status = rsp_certificate_load_file(
            f->config.eim_certificate != NULL ? f->config.eim_certificate : path, &eim, err);
    }
    rsp_public_key *eim_public = NULL;
    if (status == RSP_OK)
        status = rsp_certificate_public_key(eim, &eim_public, err);
    if (status == RSP_OK)
        status = rsp_public_key_to_spki(eim_public, &f->eim_spki, &f->eim_spki_len, err);
    rsp_public_key_free(eim_public);
    rsp_certificate_free(eim);
    if (f->config.tls_ca_file != NULL)
        snprintf(f->tls_ca, sizeof f->tls_ca, "%s", f->config.tls_ca_file);
    else
        snprintf(f->tls_ca, sizeof f->tls_ca, "%s/nist/CERT_CI_ECDSA.pem", dir);
    return status;
}

static rsp_status fleet_alloc(const fleet_config *config, fleet **out, rsp_error *err)
{
    fleet *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    *out = f;
    f->config = *config;
    if (f->config.workers == 0)
        f->config.workers = 4;
    if (f->config.workers > FLEET_MAX_WORKERS)
        f->config.workers = FLEET_MAX_WORKERS;
    if (f->config.poll_interval_ms == 0)
        f->config.poll_interval_ms = 1000;
    if (f->config.backoff_base_ms == 0)
        f->config.backoff_base_ms = 200;
    if (f->config.backoff_max_ms == 0)
        f->config.backoff_max_ms = 5000;
    if (f->config.seed == 0)
        f->config.seed = 1;
    snprintf(f->eim_fqdn, sizeof f->eim_fqdn, "%s",
             config->eim_fqdn != NULL ? config->eim_fqdn : "localhost");
    snprintf(f->eim_id, sizeof f->eim_id, "%s", config->eim_id != NULL ? config->eim_id : "eim");
    if (config->state_dir != NULL)
        snprintf(f->state_dir, sizeof f->state_dir, "%s", config->state_dir);
    f->config.pki_dir = NULL; /* borrowed string: not kept */
    f->config.eim_fqdn = f->eim_fqdn;
    f->config.eim_id = f->eim_id;
    atomic_store(&f->drop_rate, config->drop_rate);
    atomic_store(&f->delay_ms, config->delay_ms);
    atomic_store(&f->reboot_rate, config->reboot_rate);
    atomic_store(&f->lose_answers, true);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    f->count = config->devices;
    f->devices = calloc(f->count > 0 ? f->count : 1, sizeof *f->devices);
    f->heap = calloc(f->count > 0 ? f->count : 1, sizeof *f->heap);
    if (f->devices == NULL || f->heap == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory for %zu devices",
                             f->count);
    for (size_t i = 0; i < f->count; i++) {
        f->devices[i].owner = f;
        f->devices[i].index = i;
        f->devices[i].heap_pos = FLEET_NOT_IN_HEAP;
        pthread_mutex_init(&f->devices[i].lock, NULL);
    }
    return RSP_OK;
}

rsp_status fleet_new(const fleet_config *config, fleet **out, rsp_error *err)
{
    *out = NULL;
    if (config->pki_dir == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "fleet: pki_dir is required");
    fleet *f = NULL;
    rsp_status status = fleet_alloc(config, &f, err);
    if (status == RSP_OK) {
        fleet_config keep = f->config;
        f->config.pki_dir = config->pki_dir;
        status = load_pki(f, err);
        f->config = keep;
    }
    if (status == RSP_OK && f->state_dir[0] != '\0' && mkdir(f->state_dir, 0700) != 0 &&
        errno != EEXIST)
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", f->state_dir);
    provision_job jobs[FLEET_MAX_WORKERS];
    pthread_t threads[FLEET_MAX_WORKERS];
    unsigned started = 0;
    for (unsigned i = 0; status == RSP_OK && i < f->config.workers; i++) {
        jobs[i] = (provision_job){.owner = f, .first = i, .step = f->config.workers};
        if (pthread_create(&threads[i], NULL, provision_thread, &jobs[i]) == 0)
            started++;
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        if (status == RSP_OK && jobs[i].status != RSP_OK) {
            *err = jobs[i].err;
            status = jobs[i].status;
        }
    }
    if (!f->config.quiet && f->count >= 1000)
        fprintf(stderr, "\rfleet: provisioned %zu/%zu devices\n", f->count, f->count);
    if (status != RSP_OK) {
        fleet_free(f);
        return status;
    }
    *out = f;
    return RSP_OK;
}

rsp_status fleet_start(fleet *f, rsp_error *err)
{
    pthread_mutex_lock(&f->lock);
    f->stopping = false;
    uint64_t now = now_ms();
    for (size_t i = 0; i < f->count; i++)
        if (f->devices[i].heap_pos == FLEET_NOT_IN_HEAP && !f->devices[i].running)
            heap_push(f, i, now);
    pthread_mutex_unlock(&f->lock);
    rsp_status status = RSP_OK;
    for (unsigned i = 0; i < f->config.workers && status == RSP_OK; i++) {
        fleet_worker *w = &f->workers[i];
        w->owner = f;
        w->http = ipa_http_new(f->tls_ca, f->config.http_timeout_ms, err);
        if (w->http == NULL)
            status = err->code != RSP_OK ? err->code : RSP_ERR_IO;
        else if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot start a worker");
        else
            w->started = true;
        f->worker_count = i + 1;
    }
    if (status != RSP_OK)
        fleet_stop(f);
    return status;
}

void fleet_stop(fleet *f)
{
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
    for (unsigned i = 0; i < f->worker_count; i++) {
        if (f->workers[i].started)
            pthread_join(f->workers[i].thread, NULL);
        ipa_http_free(f->workers[i].http);
        memset(&f->workers[i], 0, sizeof f->workers[i]);
    }
    f->worker_count = 0;
}

void fleet_free(fleet *f)
{
    if (f == NULL)
        return;
    fleet_stop(f);
    for (size_t i = 0; f->devices != NULL && i < f->count; i++) {
        fleet_device *d = &f->devices[i];
        ipa_free(d->ipa);
        euicc_free(d->card);
        rsp_private_key_free(d->key);
        for (size_t k = 0; k < FLEET_STORAGE_KEYS; k++)
            free(d->slots[k].data);
        free(d->files);
        pthread_mutex_destroy(&d->lock);
    }
    free(f->devices);
    free(f->heap);
    rsp_certificate_free(f->ci);
    rsp_certificate_free(f->eum);
    rsp_private_key_free(f->eum_key);
    free(f->eim_spki);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    free(f);
}

size_t fleet_size(const fleet *f)
{
    return f->count;
}

void fleet_get_stats(fleet *f, fleet_stats *out)
{
    out->polls = atomic_load(&f->polls);
    out->poll_failures = atomic_load(&f->poll_failures);
    out->packages = atomic_load(&f->packages);
    out->results_delivered = atomic_load(&f->results);
    out->notifications_sent = atomic_load(&f->notifications);
    out->http_requests = atomic_load(&f->http_requests);
    out->http_dropped = atomic_load(&f->http_dropped);
    out->reboots = atomic_load(&f->reboots);
    out->polls_running = atomic_load(&f->polls_running);
}

void fleet_poll_all_now(fleet *f)
{
    pthread_mutex_lock(&f->lock);
    /* every queued device gets the same due time, which keeps the heap ordered */
    uint64_t now = now_ms();
    for (size_t i = 0; i < f->heap_len; i++)
        f->devices[f->heap[i]].due_ms = now;
    for (size_t i = 0; i < f->count; i++)
        if (f->devices[i].running)
            f->devices[i].poll_again = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void fleet_poll_device_now(fleet *f, size_t index)
{
    if (index >= f->count)
        return;
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&f->lock);
    if (d->heap_pos != FLEET_NOT_IN_HEAP) {
        /* Ahead of every scheduled poll, also of the overdue ones when the workers are behind:
         * a woken device has work waiting, an idle poll only looks. (Only ever earlier: a
         * later due time would have to sift down.) */
        if (d->due_ms > FLEET_DUE_WOKEN) {
            d->due_ms = FLEET_DUE_WOKEN;
            heap_up(f, d->heap_pos);
        }
    } else if (d->running) {
        d->poll_again = true;
    }
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void fleet_set_answer_loss(fleet *f, bool lose_answers)
{
    atomic_store(&f->lose_answers, lose_answers);
}

void fleet_set_faults(fleet *f, double drop_rate, uint32_t delay_ms, double reboot_rate)
{
    atomic_store(&f->drop_rate, drop_rate);
    atomic_store(&f->delay_ms, delay_ms);
    atomic_store(&f->reboot_rate, reboot_rate);
}

/* ---- per-device inspection ----------------------------------------------------------- */

der_view fleet_device_certificate(fleet *f, size_t index)
{
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&d->lock);
    der_view v = euicc_certificate_der(d->card);
    pthread_mutex_unlock(&d->lock);
    return v;
}

der_view fleet_eum_certificate(const fleet *f)
{
    return rsp_certificate_der(f->eum);
}

int64_t fleet_device_association_token(fleet *f, size_t index, const char *eim_id)
{
    fleet_device *d = &f->devices[index];
    int64_t token = 0;
    pthread_mutex_lock(&d->lock);
    const euicc_state *state = euicc_get_state_const(d->card);
    size_t n = euicc_state_count(state, EUICC_LIST_EIMS);
    for (size_t i = 0; i < n; i++) {
        uint8_t arena_buf[4096];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        sgp32_eim_configuration_data eim;
        rsp_error ignored = {0};
        if (schema_decode(&sgp32_eim_configuration_data_type,
                          euicc_state_get(state, EUICC_LIST_EIMS, i), &eim, &arena,
                          &ignored) == RSP_OK &&
            eim.eim_id.len == strlen(eim_id) &&
            memcmp(eim.eim_id.data, eim_id, eim.eim_id.len) == 0)
            token = eim.has_association_token ? eim.association_token : 0;
    }
    pthread_mutex_unlock(&d->lock);
    return token;
}

static void iccid_text(der_view bcd, char out[FLEET_ICCID_STRING_SIZE])
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < bcd.len && n + 2 < FLEET_ICCID_STRING_SIZE; i++) {
        uint8_t low = bcd.data[i] & 0x0F, high = bcd.data[i] >> 4;
        out[n++] = digits[low];
        if (high != 0x0F)
            out[n++] = digits[high];
    }
    out[n] = '\0';
}

rsp_status fleet_device_profiles(fleet *f, size_t index, fleet_profile *out, size_t cap,
                                 size_t *count, rsp_error *err)
{
    fleet_device *d = &f->devices[index];
    *count = 0;
    rsp_status status = RSP_OK;
    pthread_mutex_lock(&d->lock);
    const euicc_state *state = euicc_get_state_const(d->card);
    size_t n = euicc_state_count(state, EUICC_LIST_PROFILES);
    for (size_t i = 0; i < n && *count < cap && status == RSP_OK; i++) {
        euicc_loaded_profile loaded;
        status = euicc_state_profile_load(state, i, true, &loaded, err);
        if (status != RSP_OK)
            break;
        fleet_profile *p = &out[(*count)++];
        memset(p, 0, sizeof *p);
        iccid_text(loaded.record.info.iccid, p->iccid);
        p->state = loaded.record.info.profile_state;
        euicc_loaded_profile_release(&loaded);
        euicc_profile_record full;
        uint8_t arena_buf[16384];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        rsp_error ignored = {0};
        if (euicc_state_profile_decode(state, i, &full, &arena, &ignored) == RSP_OK &&
            full.has_smdp_address)
            snprintf(p->smdp_address, sizeof p->smdp_address, "%.*s", (int)full.smdp_address.len,
                     (const char *)full.smdp_address.data);
    }
    pthread_mutex_unlock(&d->lock);
    return status;
}

size_t fleet_device_undelivered(fleet *f, size_t index)
{
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&d->lock);
    const euicc_state *state = euicc_get_state_const(d->card);
    size_t n = euicc_state_count(state, EUICC_LIST_NOTIFICATIONS) +
               euicc_state_count(state, EUICC_LIST_PACKAGE_RESULTS);
    pthread_mutex_unlock(&d->lock);
    return n;
}

void fleet_device_eims(fleet *f, size_t index, char *out, size_t size)
{
    fleet_device *d = &f->devices[index];
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&d->lock);
    const euicc_state *state = euicc_get_state_const(d->card);
    size_t n = euicc_state_count(state, EUICC_LIST_EIMS);
    for (size_t i = 0; i < n; i++) {
        uint8_t arena_buf[4096];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        sgp32_eim_configuration_data eim;
        rsp_error ignored = {0};
        if (schema_decode(&sgp32_eim_configuration_data_type,
                          euicc_state_get(state, EUICC_LIST_EIMS, i), &eim, &arena,
                          &ignored) != RSP_OK)
            continue;
        int w = snprintf(out + used, size - used, "%s%.*s", used > 0 ? "," : "",
                         (int)eim.eim_id.len, (const char *)eim.eim_id.data);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    pthread_mutex_unlock(&d->lock);
}

void fleet_device_cut_power(fleet *f, size_t index, unsigned after_requests)
{
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&d->lock);
    d->power_cut_in = after_requests;
    pthread_mutex_unlock(&d->lock);
}

void fleet_device_cut_power_before_result(fleet *f, size_t index)
{
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&d->lock);
    d->power_cut_before_result = true;
    pthread_mutex_unlock(&d->lock);
}

size_t fleet_device_bytes(fleet *f, size_t index)
{
    fleet_device *d = &f->devices[index];
    pthread_mutex_lock(&d->lock);
    size_t n = euicc_bytes_held(d->card) + (d->ipa != NULL ? ipa_bytes_held(d->ipa) : 0);
    pthread_mutex_unlock(&d->lock);
    return n;
}

/* ---- idle provisioning --------------------------------------------------------------- */

/* ICCID digits (19 + Luhn check digit, ITU-T E.118) as the swapped-nibble BCD of EF.ICCID. */
static void make_iccid(const char *prefix, size_t index, uint8_t bcd[10])
{
    char digits[21];
    snprintf(digits, sizeof digits, "%s%0*zu", prefix, (int)(19 - strlen(prefix)), index);
    digits[19] = '\0';
    int sum = 0;
    for (int i = 18, pos = 0; i >= 0; i--, pos++) {
        int v = digits[i] - '0';
        if (pos % 2 == 0) {
            v *= 2;
            v = v > 9 ? v - 9 : v;
        }
        sum += v;
    }
    digits[19] = (char)('0' + (10 - sum % 10) % 10);
    digits[20] = '\0';
    for (size_t i = 0; i < 10; i++)
        bcd[i] = (uint8_t)((digits[2 * i] - '0') | ((digits[2 * i + 1] - '0') << 4));
}

rsp_status fleet_install_profile_copies(fleet *f, der_view package, const char *iccid_prefix,
                                        rsp_error *err)
{
    if (iccid_prefix == NULL || strlen(iccid_prefix) > 12)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "ICCID prefix: up to 12 digits");
    euicc_stored_element *elements = calloc(FLEET_MAX_ELEMENTS, sizeof *elements);
    if (elements == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    size_t count = 0;
    saip_walker walker;
    saip_element element;
    saip_walker_init(&walker, package);
    rsp_error walk_err = {0};
    while (count < FLEET_MAX_ELEMENTS && saip_walker_next(&walker, &element, &walk_err) == RSP_OK) {
        elements[count].element_type = element.type;
        elements[count].offset = (int64_t)element.tlv.offset;
        elements[count].length = (int64_t)element.tlv.whole.len;
        count++;
    }
    rsp_status status = count > 1 ? RSP_OK
                                  : rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                                                  "not a SAIP package: %s", walk_err.message);
    for (size_t i = 0; i < f->count && status == RSP_OK; i++) {
        fleet_device *d = &f->devices[i];
        uint8_t iccid[10];
        make_iccid(iccid_prefix, i, iccid);
        pthread_mutex_lock(&d->lock);
        euicc_state *state = euicc_get_state(d->card);
        uint8_t aid[EUICC_AID_MAX];
        size_t aid_len = 0;
        status = euicc_state_allocate_isdp_aid(state, aid, &aid_len);
        euicc_profile_record record;
        memset(&record, 0, sizeof record);
        record.info.has_iccid = true;
        record.info.iccid = der_view_make(iccid, sizeof iccid);
        record.info.has_isdp_aid = true;
        record.info.isdp_aid = der_view_make(aid, aid_len);
        record.info.has_profile_state = true;
        record.info.profile_state = SGP22_PROFILE_STATE_ENABLED;
        record.has_saip_package = true;
        record.saip_package = package;
        record.has_elements = true;
        record.elements.count = count;
        record.elements.items = elements;
        if (status == RSP_OK)
            status = euicc_state_profile_add(state, &record);
        if (status == RSP_OK && euicc_state_path(d->card) != NULL)
            status = euicc_state_commit(state, euicc_state_path(d->card), false, err);
        else if (status != RSP_OK)
            rsp_error_set(err, status, 0, 0, "device %zu: profile not stored", i);
        pthread_mutex_unlock(&d->lock);
    }
    free(elements);
    return status;
}

/* ---- registration -------------------------------------------------------------------- */

static char *base64(der_view v)
{
    char *out = malloc(4 * ((v.len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, v.data, (int)v.len);
    return out;
}

rsp_status fleet_registration_json(fleet *f, const char *eim_id, size_t first, size_t count,
                                   const char *labels_json, char **out, rsp_error *err)
{
    *out = NULL;
    char *eum = base64(fleet_eum_certificate(f));
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    der_put_raw(&w, (const uint8_t *)"[", 1);
    for (size_t i = first; i < first + count && i < f->count && eum != NULL; i++) {
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(f, i, eid);
        char *cert = base64(fleet_device_certificate(f, i));
        char head[256];
        int n = snprintf(head, sizeof head,
                         "%s{\"eid\":\"%s\",\"associationToken\":%lld,\"labels\":%s,"
                         "\"euiccCertificate\":\"",
                         i > first ? "," : "", eid,
                         (long long)fleet_device_association_token(f, i, eim_id),
                         labels_json != NULL ? labels_json : "{}");
        der_put_raw(&w, (const uint8_t *)head, (size_t)n);
        if (cert != NULL)
            der_put_raw(&w, (const uint8_t *)cert, strlen(cert));
        der_put_raw(&w, (const uint8_t *)"\",\"eumCertificate\":\"", 20);
        der_put_raw(&w, (const uint8_t *)eum, strlen(eum));
        der_put_raw(&w, (const uint8_t *)"\"}", 2);
        free(cert);
    }
    der_put_raw(&w, (const uint8_t *)"]", 2); /* with the terminating NUL */
    free(eum);
    rsp_status status = RSP_OK;
    if (w.status != RSP_OK || eum == NULL)
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    else {
        size_t len = 0;
        *out = (char *)der_writer_take(&w, &len);
    }
    der_writer_free(&w);
    return status;
}
