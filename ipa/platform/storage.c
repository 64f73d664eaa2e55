/* The libipa storage hook on files: one file per key in a directory, replaced atomically
 * (write to a temporary file, fsync, rename, fsync the directory). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipa/platform/platform.h"

rsp_status ipa_file_storage_init(ipa_file_storage *storage, const char *directory, bool durable,
                                 rsp_error *err)
{
    if (strlen(directory) + 40 >= sizeof storage->directory)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "state directory name too long");
    if (mkdir(directory, 0700) != 0 && errno != EEXIST)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s: %s", directory,
                             strerror(errno));
    strcpy(storage->directory, directory);
    storage->durable = durable;
    return RSP_OK;
}

static bool key_path(const ipa_file_storage *s, const char *key, const char *suffix, char *path,
                     size_t size)
{
    if (strchr(key, '/') || key[0] == '.' || key[0] == 0)
        return false;
    int n = snprintf(path, size, "%s/%s%s", s->directory, key, suffix);
    return n > 0 && (size_t)n < size;
}

rsp_status ipa_file_storage_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    char path[512];
    if (!key_path(ctx, key, "", path, sizeof path))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad storage key");
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT
                   ? rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no %s", key)
                   : rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        der_put_raw(out, buf, n);
    rsp_status st = ferror(f) ? rsp_error_set(err, RSP_ERR_IO, 0, 0, "read %s failed", path)
                              : der_writer_status(out);
    fclose(f);
    return st;
}

rsp_status ipa_file_storage_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    ipa_file_storage *s = ctx;
    char path[512], tmp[520];
    if (!key_path(s, key, "", path, sizeof path) || !key_path(s, key, ".tmp", tmp, sizeof tmp))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad storage key");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    size_t done = 0;
    while (ok && done < value.len) {
        ssize_t n = write(fd, value.data + done, value.len - done);
        ok = n > 0 || (n < 0 && errno == EINTR);
        if (n > 0)
            done += (size_t)n;
    }
    if (ok && s->durable)
        ok = fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    if (ok)
        ok = rename(tmp, path) == 0;
    if (ok && s->durable) {
        int dir = open(s->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            fsync(dir);
            close(dir);
        }
    }
    if (!ok) {
        int saved = errno;
        unlink(tmp);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot store %s: %s", key, strerror(saved));
    }
    return RSP_OK;
}

rsp_status ipa_file_storage_remove(void *ctx, const char *key, rsp_error *err)
{
    char path[512];
    if (!key_path(ctx, key, "", path, sizeof path))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad storage key");
    if (unlink(path) != 0 && errno != ENOENT)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot remove %s: %s", path, strerror(errno));
    return RSP_OK;
}

void ipa_platform_linux(ipa_platform *platform, ipa_card *card, ipa_http *http,
                        ipa_file_storage *storage)
{
    memset(platform, 0, sizeof *platform);
    platform->apdu_transmit = ipa_card_transmit;
    platform->apdu_ctx = card;
    platform->http_post = ipa_http_post;
    platform->http_ctx = http;
    platform->storage_read = ipa_file_storage_read;
    platform->storage_write = ipa_file_storage_write;
    platform->storage_remove = ipa_file_storage_remove;
    platform->storage_ctx = storage;
}
