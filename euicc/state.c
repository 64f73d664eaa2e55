/* Persistent eUICC state: blobs, record lists, transactions and the atomic file commit. The
 * encoding itself is in state_codec.c. */
#define _POSIX_C_SOURCE 200809L
#include "euicc/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct euicc_blob {
    size_t refs;
    size_t len;
    uint8_t data[];
};

/* What begin saved: the previous values, each blob holding one extra reference. */
struct euicc_state_undo {
    int64_t counters[EUICC_COUNTER__COUNT];
    euicc_blob *slots[EUICC_SLOT__COUNT];
    euicc_blob_list lists[EUICC_LIST__COUNT];
    bool dirty;
};

euicc_blob *euicc_blob_new(const uint8_t *data, size_t len)
{
    euicc_blob *blob = malloc(sizeof(*blob) + len);
    if (blob == NULL)
        return NULL;
    blob->refs = 1;
    blob->len = len;
    if (len > 0)
        memcpy(blob->data, data, len);
    return blob;
}

euicc_blob *euicc_blob_ref(euicc_blob *blob)
{
    if (blob != NULL)
        blob->refs++;
    return blob;
}

void euicc_blob_unref(euicc_blob *blob)
{
    if (blob != NULL && --blob->refs == 0)
        free(blob);
}

der_view euicc_blob_view(const euicc_blob *blob)
{
    if (blob == NULL)
        return der_view_make(NULL, 0);
    return der_view_make(blob->data, blob->len);
}

static void blob_list_clear(euicc_blob_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        euicc_blob_unref(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static rsp_status blob_list_reserve(euicc_blob_list *list, size_t needed)
{
    if (needed <= list->cap)
        return RSP_OK;
    size_t cap = list->cap == 0 ? 4 : list->cap * 2;
    while (cap < needed)
        cap *= 2;
    euicc_blob **items = realloc(list->items, cap * sizeof(*items));
    if (items == NULL)
        return RSP_ERR_NO_MEMORY;
    list->items = items;
    list->cap = cap;
    return RSP_OK;
}

/* Copy of the pointer array with one more reference on each blob. */
static rsp_status blob_list_share(const euicc_blob_list *from, euicc_blob_list *to)
{
    memset(to, 0, sizeof(*to));
    if (from->count == 0)
        return RSP_OK;
    to->items = malloc(from->count * sizeof(*to->items));
    if (to->items == NULL)
        return RSP_ERR_NO_MEMORY;
    for (size_t i = 0; i < from->count; i++)
        to->items[i] = euicc_blob_ref(from->items[i]);
    to->count = from->count;
    to->cap = from->count;
    return RSP_OK;
}

void euicc_state_init(euicc_state *s)
{
    memset(s, 0, sizeof(*s));
}

static void undo_free(euicc_state_undo *undo)
{
    if (undo == NULL)
        return;
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++)
        euicc_blob_unref(undo->slots[i]);
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++)
        blob_list_clear(&undo->lists[i]);
    free(undo);
}

void euicc_state_clear(euicc_state *s)
{
    undo_free(s->undo);
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++)
        euicc_blob_unref(s->slots[i]);
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++)
        blob_list_clear(&s->lists[i]);
    memset(s, 0, sizeof(*s));
}

static euicc_state_undo *undo_take(const euicc_state *s)
{
    euicc_state_undo *undo = calloc(1, sizeof(*undo));
    if (undo == NULL)
        return NULL;
    memcpy(undo->counters, s->counters, sizeof(undo->counters));
    undo->dirty = s->dirty;
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++)
        undo->slots[i] = euicc_blob_ref(s->slots[i]);
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++) {
        if (blob_list_share(&s->lists[i], &undo->lists[i]) != RSP_OK) {
            undo_free(undo);
            return NULL;
        }
    }
    return undo;
}

/* Puts the saved values back into s and frees undo. */
static void undo_restore(euicc_state *s, euicc_state_undo *undo)
{
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++) {
        euicc_blob_unref(s->slots[i]);
        s->slots[i] = undo->slots[i];
        undo->slots[i] = NULL;
    }
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++) {
        blob_list_clear(&s->lists[i]);
        s->lists[i] = undo->lists[i];
        memset(&undo->lists[i], 0, sizeof(undo->lists[i]));
    }
    memcpy(s->counters, undo->counters, sizeof(s->counters));
    s->dirty = undo->dirty;
    undo_free(undo);
}

rsp_status euicc_state_begin(euicc_state *s)
{
    if (s->undo != NULL)
        return RSP_ERR_STATE;
    s->undo = undo_take(s);
    return s->undo != NULL ? RSP_OK : RSP_ERR_NO_MEMORY;
}

void euicc_state_rollback(euicc_state *s)
{
    euicc_state_undo *undo = s->undo;
    if (undo == NULL)
        return;
    s->undo = NULL;
    undo_restore(s, undo);
    /* Reopen so that later mutations in the same command can still be undone. Without memory
     * for that, the command continues without undo: the values are already restored. */
    (void)euicc_state_begin(s);
}

void euicc_state_end(euicc_state *s)
{
    undo_free(s->undo);
    s->undo = NULL;
}

rsp_status euicc_state_snapshot_take(const euicc_state *s, euicc_state_snapshot **out)
{
    *out = undo_take(s);
    return *out != NULL ? RSP_OK : RSP_ERR_NO_MEMORY;
}

void euicc_state_snapshot_restore(euicc_state *s, euicc_state_snapshot *snapshot)
{
    /* The values differ from the file again unless they are the committed ones. */
    bool was_dirty = s->dirty;
    undo_restore(s, snapshot);
    s->dirty = s->dirty || was_dirty;
}

void euicc_state_snapshot_free(euicc_state_snapshot *snapshot)
{
    undo_free(snapshot);
}

/* ---- file ---------------------------------------------------------------------------- */

static rsp_status read_file(const char *path, uint8_t **data, size_t *len, rsp_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return RSP_ERR_NOT_FOUND;
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    }
    rsp_status status = RSP_OK;
    size_t cap = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (*len == cap) {
            size_t grown = cap == 0 ? 4096 : cap * 2;
            if (grown > (size_t)DER_MAX_LENGTH * 4) {
                status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s is too large", path);
                break;
            }
            uint8_t *bigger = realloc(buf, grown);
            if (bigger == NULL) {
                status = RSP_ERR_NO_MEMORY;
                break;
            }
            buf = bigger;
            cap = grown;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) {
            if (ferror(f))
                status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot read %s", path);
            break;
        }
    }
    fclose(f);
    if (status != RSP_OK) {
        free(buf);
        *len = 0;
        return status;
    }
    *data = buf;
    return RSP_OK;
}

rsp_status euicc_state_load(euicc_state *s, const char *path, rsp_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "state path too long");
    /* A crash between write and rename leaves a complete or partial .tmp that never became
     * the state: it is garbage. */
    (void)unlink(tmp);
    uint8_t *data = NULL;
    size_t len = 0;
    rsp_status status = read_file(path, &data, &len, err);
    if (status != RSP_OK)
        return status;
    status = euicc_state_decode(s, der_view_make(data, len), err);
    free(data);
    return status;
}

static rsp_status write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return RSP_ERR_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return RSP_OK;
}

static rsp_status sync_directory_of(const char *path)
{
    char dir[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(dir))
        return RSP_ERR_INVALID_ARGUMENT;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return RSP_ERR_IO;
    rsp_status status = fsync(fd) == 0 ? RSP_OK : RSP_ERR_IO;
    close(fd);
    return status;
}

/* Write-new, fsync, rename, fsync directory: the rename is the commit point. */
static rsp_status replace_file(const char *path, der_view data, bool durable, rsp_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "state path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s: %s", tmp, strerror(errno));
    rsp_status status = write_all(fd, data.data, data.len);
    if (status == RSP_OK && durable && fsync(fd) != 0)
        status = RSP_ERR_IO;
    if (close(fd) != 0)
        status = RSP_ERR_IO;
    if (status == RSP_OK && rename(tmp, path) != 0)
        status = RSP_ERR_IO;
    if (status != RSP_OK) {
        int saved = errno;
        (void)unlink(tmp);
        return rsp_error_set(err, status, 0, 0, "cannot write %s: %s", path, strerror(saved));
    }
    if (durable && sync_directory_of(path) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot sync the directory of %s", path);
    return RSP_OK;
}

rsp_status euicc_state_commit(euicc_state *s, const char *path, bool durable, rsp_error *err)
{
    if (path == NULL) {
        s->dirty = false;
        return RSP_OK;
    }
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = euicc_state_encode(s, &w);
    if (status == RSP_OK)
        status = replace_file(path, der_writer_view(&w), durable, err);
    else
        rsp_error_set(err, status, 0, 0, "cannot encode the eUICC state");
    der_writer_free(&w);
    if (status == RSP_OK)
        s->dirty = false;
    return status;
}

/* ---- generic records ------------------------------------------------------------------- */

size_t euicc_state_count(const euicc_state *s, euicc_list_id list)
{
    return s->lists[list].count;
}

der_view euicc_state_get(const euicc_state *s, euicc_list_id list, size_t index)
{
    if (index >= s->lists[list].count)
        return der_view_make(NULL, 0);
    return euicc_blob_view(s->lists[list].items[index]);
}

rsp_status euicc_state_append(euicc_state *s, euicc_list_id list, der_view record)
{
    euicc_blob_list *l = &s->lists[list];
    if (blob_list_reserve(l, l->count + 1) != RSP_OK)
        return RSP_ERR_NO_MEMORY;
    euicc_blob *blob = euicc_blob_new(record.data, record.len);
    if (blob == NULL)
        return RSP_ERR_NO_MEMORY;
    l->items[l->count++] = blob;
    s->dirty = true;
    return RSP_OK;
}

rsp_status euicc_state_replace(euicc_state *s, euicc_list_id list, size_t index, der_view record)
{
    euicc_blob_list *l = &s->lists[list];
    if (index >= l->count)
        return RSP_ERR_INVALID_ARGUMENT;
    euicc_blob *blob = euicc_blob_new(record.data, record.len);
    if (blob == NULL)
        return RSP_ERR_NO_MEMORY;
    euicc_blob_unref(l->items[index]);
    l->items[index] = blob;
    s->dirty = true;
    return RSP_OK;
}

rsp_status euicc_state_remove(euicc_state *s, euicc_list_id list, size_t index)
{
    euicc_blob_list *l = &s->lists[list];
    if (index >= l->count)
        return RSP_ERR_INVALID_ARGUMENT;
    euicc_blob_unref(l->items[index]);
    memmove(&l->items[index], &l->items[index + 1], (l->count - index - 1) * sizeof(*l->items));
    l->count--;
    s->dirty = true;
    return RSP_OK;
}

rsp_status euicc_state_append_value(euicc_state *s, euicc_list_id list, const schema_type *type,
                                    const void *value)
{
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = schema_encode(type, value, &w);
    if (status == RSP_OK)
        status = euicc_state_append(s, list, der_writer_view(&w));
    der_writer_free(&w);
    return status;
}

rsp_status euicc_state_replace_value(euicc_state *s, euicc_list_id list, size_t index,
                                     const schema_type *type, const void *value)
{
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = schema_encode(type, value, &w);
    if (status == RSP_OK)
        status = euicc_state_replace(s, list, index, der_writer_view(&w));
    der_writer_free(&w);
    return status;
}

rsp_status euicc_state_decode_value(const euicc_state *s, euicc_list_id list, size_t index,
                                    const schema_type *type, void *out, schema_arena *arena,
                                    rsp_error *err)
{
    if (index >= s->lists[list].count)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no record %zu", index);
    return schema_decode(type, euicc_blob_view(s->lists[list].items[index]), out, arena, err);
}

der_view euicc_state_slot(const euicc_state *s, euicc_slot_id slot)
{
    return euicc_blob_view(s->slots[slot]);
}

rsp_status euicc_state_set_slot(euicc_state *s, euicc_slot_id slot, const uint8_t *data, size_t len)
{
    euicc_blob *blob = NULL;
    if (data != NULL) {
        blob = euicc_blob_new(data, len);
        if (blob == NULL)
            return RSP_ERR_NO_MEMORY;
    }
    euicc_blob_unref(s->slots[slot]);
    s->slots[slot] = blob;
    s->dirty = true;
    return RSP_OK;
}

rsp_status euicc_state_next_counter(euicc_state *s, euicc_counter_id counter, int64_t *value)
{
    if (s->counters[counter] == INT64_MAX)
        return RSP_ERR_STATE;
    *value = ++s->counters[counter];
    s->dirty = true;
    return RSP_OK;
}

/* ---- profiles ------------------------------------------------------------------------ */

/* Every decoded list element takes at most 4 times its encoded size (the smallest element,
 * a StoredElement of 11 bytes, decodes into 24), so this arena never runs out. */
rsp_status euicc_state_profile_load(const euicc_state *s, size_t index, bool info_only,
                                    euicc_loaded_profile *out, rsp_error *err)
{
    der_view blob = euicc_state_get(s, EUICC_LIST_PROFILES, index);
    out->arena_buf = NULL;
    if (blob.data == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no profile %zu", index);
    size_t sized_from = blob.len;
    der_tlv outer, first;
    der_reader reader;
    rsp_error ignored = {0};
    /* profileInfo alone is small next to the package: size the arena from it. */
    if (info_only && der_parse_single(blob, &outer, &ignored) == RSP_OK &&
        der_reader_enter(&outer, 0, &reader, &ignored) == RSP_OK &&
        der_reader_next(&reader, &first, &ignored) == RSP_OK)
        sized_from = first.whole.len;
    size_t size = sized_from * 4 + 1024;
    out->arena_buf = malloc(size);
    if (out->arena_buf == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    schema_arena arena;
    schema_arena_init(&arena, out->arena_buf, size);
    rsp_status status =
        schema_decode(info_only ? &euicc_profile_info_only_type : &euicc_profile_record_type, blob,
                      &out->record, &arena, err);
    if (status != RSP_OK)
        euicc_loaded_profile_release(out);
    return status;
}

void euicc_loaded_profile_release(euicc_loaded_profile *profile)
{
    free(profile->arena_buf);
    profile->arena_buf = NULL;
}

static bool profile_matches(const euicc_state *s, size_t index, bool by_aid, der_view id,
                            bool want_enabled)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    if (euicc_state_profile_load(s, index, true, &profile, &err) != RSP_OK)
        return false;
    const sgp32_profile_info *info = &profile.record.info;
    bool match;
    if (want_enabled)
        match = info->has_profile_state && info->profile_state == SGP22_PROFILE_STATE_ENABLED;
    else if (by_aid)
        match = info->has_isdp_aid && der_view_equal(info->isdp_aid, id);
    else
        match = info->has_iccid && der_view_equal(info->iccid, id);
    euicc_loaded_profile_release(&profile);
    return match;
}

static long profile_search(const euicc_state *s, bool by_aid, der_view id, bool want_enabled)
{
    for (size_t i = 0; i < s->lists[EUICC_LIST_PROFILES].count; i++)
        if (profile_matches(s, i, by_aid, id, want_enabled))
            return (long)i;
    return -1;
}

long euicc_state_find_profile_by_iccid(const euicc_state *s, der_view iccid)
{
    return profile_search(s, false, iccid, false);
}

long euicc_state_find_profile_by_aid(const euicc_state *s, der_view isdp_aid)
{
    return profile_search(s, true, isdp_aid, false);
}

long euicc_state_find_enabled_profile(const euicc_state *s)
{
    return profile_search(s, false, der_view_make(NULL, 0), true);
}

rsp_status euicc_state_profile_decode(const euicc_state *s, size_t index, euicc_profile_record *out,
                                      schema_arena *arena, rsp_error *err)
{
    return euicc_state_decode_value(s, EUICC_LIST_PROFILES, index, &euicc_profile_record_type, out,
                                    arena, err);
}

rsp_status euicc_state_profile_add(euicc_state *s, const euicc_profile_record *record)
{
    return euicc_state_append_value(s, EUICC_LIST_PROFILES, &euicc_profile_record_type, record);
}

rsp_status euicc_state_profile_update(euicc_state *s, size_t index,
                                      const euicc_profile_record *record)
{
    return euicc_state_replace_value(s, EUICC_LIST_PROFILES, index, &euicc_profile_record_type,
                                     record);
}

rsp_status euicc_state_profile_set_state(euicc_state *s, size_t index, int64_t state)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    rsp_status status = euicc_state_profile_load(s, index, false, &profile, &err);
    if (status != RSP_OK)
        return status;
    profile.record.info.has_profile_state = true;
    profile.record.info.profile_state = state;
    status = euicc_state_profile_update(s, index, &profile.record);
    euicc_loaded_profile_release(&profile);
    return status;
}

rsp_status euicc_state_allocate_isdp_aid(const euicc_state *s, uint8_t aid[EUICC_AID_MAX],
                                         size_t *aid_len)
{
    static const uint8_t prefix[14] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00};
    /* Byte 14 counts from 0x10 (0x01 is the ISD-R's), byte 15 stays 00. */
    for (unsigned n = 0x10; n <= 0xFF; n++) {
        memcpy(aid, prefix, sizeof(prefix));
        aid[14] = (uint8_t)n;
        aid[15] = 0x00;
        if (euicc_state_find_profile_by_aid(s, der_view_make(aid, 16)) < 0) {
            *aid_len = 16;
            return RSP_OK;
        }
    }
    return RSP_ERR_NO_MEMORY;
}

/* ---- notifications and results ----------------------------------------------------------- */

long euicc_state_find_notification(const euicc_state *s, int64_t seq_number)
{
    for (size_t i = 0; i < s->lists[EUICC_LIST_NOTIFICATIONS].count; i++) {
        euicc_notification_record record;
        rsp_error err = {0};
        if (euicc_state_notification_decode(s, i, &record, &err) == RSP_OK &&
            record.seq_number == seq_number)
            return (long)i;
    }
    return -1;
}

rsp_status euicc_state_notification_decode(const euicc_state *s, size_t index,
                                           euicc_notification_record *out, rsp_error *err)
{
    return euicc_state_decode_value(s, EUICC_LIST_NOTIFICATIONS, index,
                                    &euicc_notification_record_type, out, NULL, err);
}

long euicc_state_find_package_result(const euicc_state *s, int64_t seq_number)
{
    for (size_t i = 0; i < s->lists[EUICC_LIST_PACKAGE_RESULTS].count; i++) {
        euicc_package_result_record record;
        rsp_error err = {0};
        if (euicc_state_package_result_decode(s, i, &record, &err) == RSP_OK &&
            record.seq_number == seq_number)
            return (long)i;
    }
    return -1;
}

rsp_status euicc_state_package_result_decode(const euicc_state *s, size_t index,
                                             euicc_package_result_record *out, rsp_error *err)
{
    return euicc_state_decode_value(s, EUICC_LIST_PACKAGE_RESULTS, index,
                                    &euicc_package_result_record_type, out, NULL, err);
}

size_t euicc_state_bytes_held(const euicc_state *s)
{
    size_t total = 0;
    for (size_t i = 0; i < EUICC_SLOT__COUNT; i++)
        if (s->slots[i] != NULL)
            total += sizeof(euicc_blob) + s->slots[i]->len;
    for (size_t i = 0; i < EUICC_LIST__COUNT; i++) {
        total += s->lists[i].cap * sizeof(euicc_blob *);
        for (size_t j = 0; j < s->lists[i].count; j++)
            total += sizeof(euicc_blob) + s->lists[i].items[j]->len;
    }
    return total;
}
