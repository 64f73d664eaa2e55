/* bench ipa: footprint and peak heap of libipa.
 *
 * Footprint: ipa/footprint/main.c reaches the whole public API; it and a baseline program are
 * built with -Os and --gc-sections. Their difference in Berkeley `size` terms (text = every
 * allocated read-only section, data = allocated writable ones) is what libipa plus the
 * rspkit_core code it pulls in cost. The onomondo-ipa reference (SGP.32 v1.0, asn1c) is about
 * 300 KB text + 110 KB data built -Os on this machine.
 *
 * Peak heap: an IPA instance relays a profile download (ProfileDownloadTrigger, indirect)
 * whose BPP carries a TS.48 test profile, between a minimal in-process eIM and a minimal card
 * that accepts the BPP segments; every allocation goes through the IPA's hook, whose
 * high-water mark is reported. */
#include <dirent.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/ipa.h"
#include "ipa/ipa.h"

#define TEXT_TARGET (128u * 1024u)
#define HEAP_TARGET (64u * 1024u)
#define SAIP_MAX    (256u * 1024u)
#define COMMAND_MAX (32u * 1024u)

/* ---- footprint ------------------------------------------------------------------------- */

typedef struct {
    unsigned long text, data, bss;
} elf_sizes;

static int elf_size(const char *path, elf_sizes *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    Elf64_Ehdr eh;
    int rc = fread(&eh, sizeof eh, 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
                     eh.e_ident[EI_CLASS] == ELFCLASS64
                 ? 0
                 : -1;
    for (unsigned i = 0; rc == 0 && i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (fseek(f, (long)(eh.e_shoff + (Elf64_Off)i * eh.e_shentsize), SEEK_SET) != 0 ||
            fread(&sh, sizeof sh, 1, f) != 1) {
            rc = -1;
            break;
        }
        if (!(sh.sh_flags & SHF_ALLOC))
            continue;
        if (sh.sh_type == SHT_NOBITS)
            out->bss += sh.sh_size;
        else if (sh.sh_flags & SHF_WRITE)
            out->data += sh.sh_size;
        else
            out->text += sh.sh_size;
    }
    fclose(f);
    return rc;
}

static int footprint(void)
{
#if defined(RSPKIT_IPA_FOOTPRINT) && defined(RSPKIT_IPA_FOOTPRINT_BASELINE)
    elf_sizes probe, base;
    if (elf_size(RSPKIT_IPA_FOOTPRINT, &probe) != 0 ||
        elf_size(RSPKIT_IPA_FOOTPRINT_BASELINE, &base) != 0) {
        printf("ipa footprint: probe binaries not readable (%s)\n", RSPKIT_IPA_FOOTPRINT);
        return 1;
    }
    unsigned long text = probe.text - base.text, data = probe.data - base.data;
    printf("ipa footprint (-Os, gc-sections, libipa + the rspkit_core code it reaches):\n"
           "  text %lu B + data %lu B = %lu B (%.1f KiB; target <= %u KiB) bss %lu B\n"
           "  reference onomondo-ipa (SGP.32 v1.0, asn1c, -Os): ~300 KB text + ~110 KB data\n",
           text, data, text + data, (text + data) / 1024.0, TEXT_TARGET / 1024,
           probe.bss - base.bss);
    return text + data <= TEXT_TARGET ? 0 : 1;
#else
    printf("ipa footprint: the probe was not built with this binary\n");
    return 1;
#endif
}

/* ---- a minimal card: ISD-R channel, STORE DATA sequences, GET RESPONSE ----------------- */

typedef struct {
    uint8_t command[COMMAND_MAX];
    size_t command_len;
    uint8_t response[2048];
    size_t response_len, response_sent;
    size_t a3_left;
    bool in_a3;
    unsigned segments;
    uint8_t eid[16];
} bench_card;

static void put(bench_card *c, const uint8_t *data, size_t len)
{
    memcpy(c->response, data, len);
    c->response_len = len;
    c->response_sent = 0;
}

static size_t tlv_length(const uint8_t *p, size_t *header)
{
    size_t tag = (p[0] & 0x1F) == 0x1F ? 2 : 1;
    if (p[tag] < 0x80) {
        *header = tag + 1;
        return p[tag];
    }
    size_t n = p[tag] & 0x7F, len = 0;
    for (size_t i = 0; i < n; i++)
        len = len << 8 | p[tag + 1 + i];
    *header = tag + 1 + n;
    return len;
}

static void pir(bench_card *c)
{
    static const uint8_t result[] = {0xBF, 0x37, 0x2B, 0xBF, 0x27, 0x28, 0x80, 0x01, 0x01, 0xBF,
                                     0x2F, 0x0B, 0x80, 0x01, 0x05, 0x81, 0x02, 0x07, 0x80, 0x0C,
                                     0x02, 'd',  'p',  0x06, 0x01, 0x2B, 0xA2, 0x0F, 0xA0, 0x0D,
                                     0x4F, 0x07, 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x04,
                                     0x02, 0x90, 0x00, 0x5F, 0x37, 0x00};
    put(c, result, sizeof result);
}

/* One ES10 command (SGP.22 v2.5 section 5.7); answers are the smallest valid shapes. */
static void es10(bench_card *c)
{
    static const uint8_t eim[] = {0xBF, 0x55, 0x11, 0xA0, 0x0F, 0x30, 0x0D, 0x80, 0x05, 'b',
                                  'e',  'n',  'c',  'h',  0x81, 0x04, 'e',  'i',  'm',  '.'};
    static const uint8_t info1[] = {0xBF, 0x20, 0x0B, 0x82, 0x03, 0x02, 0x05,
                                    0x00, 0xA9, 0x02, 0x04, 0x00, 0xAA, 0x00};
    static const uint8_t signed_answer[] = {0xBF, 0x38, 0x06, 0xA0, 0x04, 0x30, 0x02, 0x80, 0x00};
    static const uint8_t empty_list[] = {0xBF, 0x2B, 0x02, 0xA0, 0x00};
    static const uint8_t removed[] = {0xBF, 0x30, 0x03, 0x80, 0x01, 0x00};
    uint8_t challenge[21] = {0xBF, 0x2E, 0x12, 0x80, 0x10};
    const uint8_t *p = c->command;
    uint32_t tag = (p[0] & 0x1F) == 0x1F ? (uint32_t)(p[0] << 8 | p[1]) : p[0];
    size_t header = 0;
    c->response_len = 0;
    switch (tag) {
    case 0xBF3E: {
        uint8_t eid[21] = {0xBF, 0x3E, 0x12, 0x5A, 0x10};
        memcpy(eid + 5, c->eid, 16);
        put(c, eid, sizeof eid);
        break;
    }
    case 0xBF55:
        put(c, eim, sizeof eim);
        break;
    case 0xBF2E:
        put(c, challenge, sizeof challenge);
        break;
    case 0xBF20:
        put(c, info1, sizeof info1);
        break;
    case 0xBF38:
    case 0xBF21: {
        uint8_t answer[sizeof signed_answer];
        memcpy(answer, signed_answer, sizeof answer);
        answer[1] = (uint8_t)tag;
        put(c, answer, sizeof answer);
        break;
    }
    case 0xBF2B:
        put(c, empty_list, sizeof empty_list);
        break;
    case 0xBF5A: { /* ImmediateEnable: not configured */
        static const uint8_t not_available[] = {0xBF, 0x5A, 0x03, 0x80, 0x01, 0x01};
        put(c, not_available, sizeof not_available);
        break;
    }
    case 0xBF30:
        put(c, removed, sizeof removed);
        break;
    case 0xA3:
        c->segments++;
        c->a3_left = tlv_length(p, &header);
        c->in_a3 = true;
        break;
    case 0x86:
        c->segments++;
        c->a3_left -= c->command_len < c->a3_left ? c->command_len : c->a3_left;
        if (c->in_a3 && c->a3_left == 0)
            pir(c);
        break;
    default:
        c->segments++; /* the other BPP segments */
        break;
    }
}

static size_t reply(bench_card *c, uint8_t *resp, size_t cap)
{
    size_t left = c->response_len - c->response_sent;
    size_t n = left < 256 ? left : 256;
    if (cap < n + 2)
        n = cap - 2;
    memcpy(resp, c->response + c->response_sent, n);
    c->response_sent += n;
    left -= n;
    resp[n] = left ? 0x61 : 0x90;
    resp[n + 1] = left ? (uint8_t)(left > 255 ? 0 : left) : 0x00;
    return n + 2;
}

static rsp_status card_transmit(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp,
                                size_t cap, size_t *resp_len, rsp_error *err)
{
    bench_card *c = ctx;
    (void)err;
    static const uint8_t channel_one[] = {0x01, 0x90, 0x00};
    uint8_t ins = apdu[1];
    if (ins == 0x70) { /* MANAGE CHANNEL */
        memcpy(resp, channel_one, apdu[2] == 0 ? 3 : 0);
        resp[apdu[2] == 0 ? 1 : 0] = 0x90;
        resp[apdu[2] == 0 ? 2 : 1] = 0x00;
        *resp_len = apdu[2] == 0 ? 3 : 2;
    } else if (ins == 0xC0) { /* GET RESPONSE */
        *resp_len = reply(c, resp, cap);
    } else if (ins == 0xE2 && len > 5 && c->command_len + apdu[4] <= COMMAND_MAX) {
        memcpy(c->command + c->command_len, apdu + 5, apdu[4]);
        c->command_len += apdu[4];
        if (apdu[2] == 0x91) {
            es10(c);
            c->command_len = 0;
        }
        c->response_sent = 0;
        *resp_len = apdu[2] == 0x91 ? reply(c, resp, cap) : (resp[0] = 0x90, resp[1] = 0, 2);
    } else { /* SELECT and the rest */
        resp[0] = 0x90;
        resp[1] = 0x00;
        *resp_len = 2;
    }
    return RSP_OK;
}

/* ---- a minimal eIM ----------------------------------------------------------------------- */

typedef struct {
    const uint8_t *saip;
    size_t saip_len;
    bool triggered;
    size_t bpp_len;
} bench_eim;

/* BF36 { BF23, A0 { 87 }, A1 { 88 }, A3 { 86 ... } }: the SAIP in 1020-byte 86 segments plus
 * the 8-byte MAC a real BPP carries, so the sizes match a real download. */
static void put_bpp(const bench_eim *e, der_writer *w)
{
    static const uint8_t filler[1028];
    size_t bpp = der_begin(w, 0xBF36);
    size_t init = der_begin(w, 0xBF23);
    der_put_tlv(w, 0x80, filler, 16);
    der_end(w, init);
    size_t a0 = der_begin(w, 0xA0);
    der_put_tlv(w, 0x87, filler, 64);
    der_end(w, a0);
    size_t a1 = der_begin(w, 0xA1);
    der_put_tlv(w, 0x88, filler, 64);
    der_end(w, a1);
    size_t a3 = der_begin(w, 0xA3);
    for (size_t off = 0; off < e->saip_len; off += 1020) {
        size_t n = e->saip_len - off < 1020 ? e->saip_len - off : 1020;
        size_t seg = der_begin(w, 0x86);
        der_put_raw(w, e->saip + off, n);
        der_put_raw(w, filler, 8);
        der_end(w, seg);
    }
    der_end(w, a3);
    der_end(w, bpp);
}

static void put_ok(der_writer *w, uint32_t tag)
{
    static const uint8_t sig[64];
    size_t outer = der_begin(w, tag);
    size_t ok = der_begin(w, 0xA0);
    der_put_tlv(w, 0x80, sig, 16);
    size_t s = der_begin(w, 0x30);
    der_put_tlv(w, 0x80, sig, 16);
    der_end(w, s);
    der_put_tlv(w, 0x5F37, sig, sizeof sig);
    der_put_tlv(w, 0x04, sig, 20);
    der_put_tlv(w, 0x30, sig, 32);
    der_end(w, ok);
    der_end(w, outer);
}

static rsp_status eim_post(void *ctx, const ipa_http_request *request, der_writer *response,
                           long *status, rsp_error *err)
{
    bench_eim *e = ctx;
    static const uint8_t trigger[] = {0xBF, 0x4F, 0x1B, 0xBF, 0x54, 0x18, 0xA0, 0x16, 0x80, 0x14,
                                      '1',  '$',  's',  'm',  'd',  'p',  '.',  'b',  'e',  'n',
                                      'c',  'h',  '$',  'M',  'A',  'T',  'C',  'H',  '-',  '1'};
    static const uint8_t none[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
    static const uint8_t empty[] = {0xBF, 0x50, 0x02, 0x30, 0x00};
    (void)err;
    uint32_t tag = (uint32_t)(request->body.data[0] << 8 | request->body.data[1]);
    *status = 200;
    if (tag == 0xBF4F) {
        der_put_raw(response, e->triggered ? none : trigger,
                    e->triggered ? sizeof none : sizeof trigger);
        e->triggered = true;
    } else if (tag == 0xBF39 || tag == 0xBF3B) {
        put_ok(response, tag);
    } else if (tag == 0xBF3A) {
        size_t outer = der_begin(response, 0xBF3A);
        size_t ok = der_begin(response, 0xA0);
        size_t start = response->len;
        put_bpp(e, response);
        e->bpp_len = response->len - start;
        der_end(response, ok);
        der_end(response, outer);
    } else if (tag == 0xBF50) {
        der_put_raw(response, empty, sizeof empty);
    } else {
        *status = 204;
    }
    return der_writer_status(response);
}

static rsp_status mem_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    (void)ctx, (void)out;
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s", key);
}

static rsp_status mem_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    (void)ctx, (void)key, (void)value, (void)err;
    return RSP_OK;
}

static rsp_status mem_remove(void *ctx, const char *key, rsp_error *err)
{
    (void)ctx, (void)key, (void)err;
    return RSP_OK;
}

static int download(const char *path, size_t *peak_out)
{
    static uint8_t saip[SAIP_MAX];
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(saip, 1, sizeof saip, f) : 0;
    if (f)
        fclose(f);
    if (len == 0)
        return -1;
    static bench_card card;
    memset(&card, 0, sizeof card);
    bench_eim eim = {.saip = saip, .saip_len = len};
    ipa_platform platform = {.apdu_transmit = card_transmit,
                             .apdu_ctx = &card,
                             .http_post = eim_post,
                             .http_ctx = &eim,
                             .storage_read = mem_read,
                             .storage_write = mem_write,
                             .storage_remove = mem_remove};
    ipa_config config = {.eim_url = "https://eim.bench/gsma/rsp2/asn1"};
    ipa_instance *ipa = NULL;
    rsp_error err = {0};
    ipa_poll_report report;
    double start = bench_cpu_seconds();
    rsp_status st = ipa_new(&platform, &config, &ipa, &err);
    if (st == RSP_OK)
        st = ipa_poll_once(ipa, &report, &err);
    double cpu = bench_cpu_seconds() - start;
    if (st != RSP_OK || card.segments < 5) {
        printf("  %s: download failed: %s\n", path, err.message);
        ipa_free(ipa);
        return -1;
    }
    const char *name = strrchr(path, '/');
    printf("  %-28s BPP %6zu B, %3u segments: peak heap %6zu B, idle %zu B, %.2f ms CPU\n",
           name ? name + 1 : path, eim.bpp_len, card.segments, ipa_peak_bytes(ipa),
           ipa_bytes_held(ipa), cpu * 1000.0);
    *peak_out = ipa_peak_bytes(ipa);
    ipa_free(ipa);
    return 0;
}

static int peak_heap(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("ipa peak heap: no TS.48 folder at %s (skipped)\n", dir);
        return 1;
    }
    printf("ipa peak heap during an indirect download of each TS.48 profile (target <= %u "
           "KiB):\n",
           HEAP_TARGET / 1024);
    size_t worst = 0;
    int runs = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        size_t n = strlen(entry->d_name), peak = 0;
        char path[1024];
        if (n < 5 || strcmp(entry->d_name + n - 4, ".der") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        if (download(path, &peak) == 0) {
            runs++;
            worst = peak > worst ? peak : worst;
        }
    }
    closedir(d);
    printf("  worst peak %zu B (%.1f KiB) over %d downloads\n", worst, worst / 1024.0, runs);
    return runs > 0 && worst <= HEAP_TARGET ? 0 : 1;
}

int bench_ipa(int argc, char **argv)
{
    const char *dir = RSPKIT_SHARED_DIR "/testdata/ts48";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else
            return fprintf(stderr, "usage: rspkit bench ipa [--dir TS48_DIR]\n"), 2;
    }
    int rc = footprint();
    rc |= peak_heap(dir);
    return rc;
}
