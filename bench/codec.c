/* bench codec: throughput of the DER/schema codec on real and worst-case inputs, against
 * memcpy of the same bytes in the same run. Workloads:
 *   - the four GSMA TS.48 profile packages: walk every element (strict, depth-bounded tree
 *     validation), decode the header through the schema; encode = rebuild every element
 *     (header through schema_encode, the others TLV by TLV with computed lengths);
 *   - a maximal BoundProfilePackage-like value: BF36 carrying ~64 KB of 1020-byte 86
 *     segments (SGP.22 v2.5 section 2.5.5 sizes), decoded to segment views and rebuilt.
 * Target: codec throughput at least 10% of memcpy throughput. Decoding is zero-copy (views
 * into the input), so a decode that only validates structure can beat memcpy of the bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "core/saip.h"

#define RUN_SECONDS   0.25
#define TARGET_RATIO  0.10
#define SEGMENT_SIZE  1020
#define SEGMENT_COUNT 64

typedef struct {
    const char *name;
    uint8_t *data;
    size_t len;
} input;

typedef struct {
    const input *inputs;
    size_t count;
    size_t total;
    uint8_t *scratch; /* memcpy destination / encode buffer, >= 2 * largest input */
    size_t scratch_len;
} workload;

static volatile uint8_t sink;

/* ---- generic TLV re-encoding ----------------------------------------------------- */

static rsp_status reencode_tree(const der_tlv *tlv, unsigned depth, der_writer *w)
{
    if (!tlv->constructed) {
        der_put_tlv(w, tlv->tag, tlv->value.data, tlv->value.len);
        return der_writer_status(w);
    }
    der_reader r;
    der_tlv child;
    rsp_status st = der_reader_enter(tlv, depth, &r, NULL);
    size_t mark = der_begin(w, tlv->tag);
    while (st == RSP_OK && !der_reader_at_end(&r))
        if ((st = der_reader_next(&r, &child, NULL)) == RSP_OK)
            st = reencode_tree(&child, r.depth, w);
    der_end(w, mark);
    return st != RSP_OK ? st : der_writer_status(w);
}

/* ---- profile packages ------------------------------------------------------------ */

static rsp_status decode_package(const input *in, saip_header *header, rsp_error *err)
{
    static uint8_t arena_buffer[8192];
    schema_arena arena;
    saip_walker walker;
    saip_element element;
    rsp_status st;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker_init(&walker, der_view_make(in->data, in->len));
    while ((st = saip_walker_next(&walker, &element, err)) == RSP_OK)
        if (element.type == SAIP_PE_HEADER &&
            (st = saip_header_decode(element.tlv.whole, header, &arena, err)) != RSP_OK)
            return st;
    return st == RSP_ERR_NOT_FOUND ? RSP_OK : st;
}

/* The package was validated by decode_package: walk its top level without re-validating. */
static rsp_status encode_package(const input *in, const saip_header *header, der_writer *w)
{
    der_reader r;
    der_tlv element;
    rsp_status st = RSP_OK;
    der_reader_init(&r, der_view_make(in->data, in->len), 0, 0);
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        if ((st = der_reader_next(&r, &element, NULL)) != RSP_OK)
            break;
        if (saip_element_type_from_tag(element.tag) == SAIP_PE_HEADER)
            st = schema_encode(&saip_header_type, header, w);
        else
            st = reencode_tree(&element, 0, w);
    }
    return st;
}

/* ---- BPP-like value -------------------------------------------------------------- */

/* BoundProfilePackage, SGP.22 v2.5 section 5.7.7 / 2.5.4: BF36 { BF23 {...}, A0 { 87 },
 * A1 { 88 }, A3 { 86 ... } } with maximal 1020-byte segments. */
static rsp_status build_bpp(der_writer *w, const uint8_t *filler, const der_view *segments)
{
    size_t outer = der_begin(w, 0xBF36);
    size_t init = der_begin(w, 0xBF23);
    der_put_int64(w, 0x82, 1);
    der_put_tlv(w, 0x80, filler, 16);
    size_t control = der_begin(w, 0xA6);
    der_put_tlv(w, 0x90, filler, 1);
    der_put_tlv(w, 0x95, filler + 1, 1);
    der_put_tlv(w, 0x80, filler + 2, 1);
    der_put_tlv(w, 0x81, filler + 3, 1);
    der_put_tlv(w, 0x84, filler + 4, 16);
    der_end(w, control);
    der_put_tlv(w, 0x5F49, filler, 65);
    der_put_tlv(w, 0x5F37, filler, 64);
    der_end(w, init);
    size_t first = der_begin(w, 0xA0);
    der_put_tlv(w, 0x87, filler, 48);
    der_end(w, first);
    size_t metadata = der_begin(w, 0xA1);
    der_put_tlv(w, 0x88, filler, 200);
    der_end(w, metadata);
    size_t sequence_of_86 = der_begin(w, 0xA3);
    for (size_t i = 0; i < SEGMENT_COUNT; i++)
        der_put_tlv(w, 0x86, segments[i].data, segments[i].len);
    der_end(w, sequence_of_86);
    der_end(w, outer);
    return der_writer_status(w);
}

/* Decodes the BPP down to its 86 segment views (what an eUICC hands to the SAIP loader). */
static rsp_status decode_bpp(const input *in, der_view *segments, size_t *count, rsp_error *err)
{
    der_tlv bpp, part, item;
    der_reader r, inner;
    rsp_status st = der_parse_single(der_view_make(in->data, in->len), &bpp, err);
    if (st == RSP_OK)
        st = der_validate_tree(&bpp, 0, err);
    if (st == RSP_OK)
        st = der_reader_enter(&bpp, 0, &r, err);
    *count = 0;
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        if ((st = der_reader_next(&r, &part, err)) != RSP_OK || part.tag != 0xA3)
            continue;
        st = der_reader_enter(&part, r.depth, &inner, err);
        while (st == RSP_OK && !der_reader_at_end(&inner))
            if ((st = der_reader_next(&inner, &item, err)) == RSP_OK && item.tag == 0x86 &&
                *count < SEGMENT_COUNT)
                segments[(*count)++] = item.value;
    }
    if (st == RSP_OK && *count != SEGMENT_COUNT)
        st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xA3, 0, "expected %d segments, found %zu",
                           SEGMENT_COUNT, *count);
    return st;
}

/* ---- measurement ----------------------------------------------------------------- */

typedef enum { MEASURE_MEMCPY, MEASURE_DECODE, MEASURE_ENCODE } measure_kind;

typedef rsp_status (*codec_step)(const input *in, bool encode, der_writer *w, rsp_error *err);

static rsp_status package_step(const input *in, bool encode, der_writer *w, rsp_error *err)
{
    static saip_header header;
    rsp_status st = decode_package(in, &header, err);
    if (st == RSP_OK && encode)
        st = encode_package(in, &header, w);
    return st;
}

static rsp_status bpp_step(const input *in, bool encode, der_writer *w, rsp_error *err)
{
    der_view segments[SEGMENT_COUNT];
    size_t count;
    rsp_status st = decode_bpp(in, segments, &count, err);
    if (st == RSP_OK && encode)
        st = build_bpp(w, segments[0].data, segments);
    return st;
}

/* Runs one kind of pass over the workload for RUN_SECONDS of process CPU time (so that other
 * processes on a shared machine do not count); returns MB/s or -1. The
 * encode pass includes a decode (it encodes decoded values), so its time is the difference
 * to the decode pass' per-iteration time. */
static double measure(const workload *wl, measure_kind kind, codec_step step, double decode_s,
                      rsp_error *err)
{
    size_t iterations = 0;
    double start = bench_cpu_seconds(), elapsed = 0;
    do {
        for (size_t i = 0; i < wl->count; i++) {
            const input *in = &wl->inputs[i];
            if (kind == MEASURE_MEMCPY) {
                memcpy(wl->scratch, in->data, in->len);
                sink ^= wl->scratch[in->len / 2];
                continue;
            }
            der_writer w;
            der_writer_init_fixed(&w, wl->scratch, wl->scratch_len);
            if (step(in, kind == MEASURE_ENCODE, &w, err) != RSP_OK)
                return -1;
            sink ^= w.len ? w.buf[w.len / 2] : 0;
        }
        /* the clock is read every 16 passes: getrusage costs as much as a small pass */
        if (++iterations % 16 != 0)
            continue;
        elapsed = bench_cpu_seconds() - start;
    } while (iterations % 16 != 0 || elapsed < RUN_SECONDS);
    double per_iteration = elapsed / (double)iterations;
    if (kind == MEASURE_ENCODE)
        per_iteration = per_iteration > decode_s ? per_iteration - decode_s : per_iteration;
    return (double)wl->total / per_iteration / 1e6;
}

static void verdict(const char *what, double mbps, double memcpy_mbps)
{
    double ratio = mbps / memcpy_mbps;
    printf("  %-7s %9.1f MB/s  %6.2f%% of memcpy  %s\n", what, mbps, 100.0 * ratio,
           ratio >= TARGET_RATIO ? "PASS" : "BELOW TARGET");
}

/* Checks the encode pass reproduces the input exactly, then measures and prints. */
static int run_workload(const char *title, const workload *wl, codec_step step)
{
    rsp_error err = {0};
    char text[256];
    for (size_t i = 0; i < wl->count; i++) {
        der_writer w;
        der_writer_init_fixed(&w, wl->scratch, wl->scratch_len);
        if (step(&wl->inputs[i], true, &w, &err) != RSP_OK) {
            fprintf(stderr, "bench codec: %s: %s\n", wl->inputs[i].name,
                    rsp_error_format(&err, text, sizeof text));
            return 1;
        }
        if (w.len != wl->inputs[i].len || memcmp(w.buf, wl->inputs[i].data, w.len) != 0) {
            fprintf(stderr, "bench codec: %s: re-encoding differs from the input\n",
                    wl->inputs[i].name);
            return 1;
        }
    }
    double memcpy_mbps = measure(wl, MEASURE_MEMCPY, step, 0, &err);
    double decode_mbps = measure(wl, MEASURE_DECODE, step, 0, &err);
    double decode_s = decode_mbps > 0 ? (double)wl->total / (decode_mbps * 1e6) : 0;
    double encode_mbps = measure(wl, MEASURE_ENCODE, step, decode_s, &err);
    if (decode_mbps < 0 || encode_mbps < 0) {
        fprintf(stderr, "bench codec: %s\n", rsp_error_format(&err, text, sizeof text));
        return 1;
    }
    printf("%s (%zu bytes per pass)\n  memcpy  %9.1f MB/s\n", title, wl->total, memcpy_mbps);
    verdict("decode", decode_mbps, memcpy_mbps);
    verdict("encode", encode_mbps, memcpy_mbps);
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size)) != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    if (data != NULL)
        *len = (size_t)size;
    fclose(f);
    return data;
}

static int bench_packages(void)
{
    static const char *const names[] = {"NoBERTLV", "NoBERTLV_NoRAMRFM", "BERTLV_SUCI",
                                        "BERTLV_SUCI_NoRAMRFM"};
    input inputs[4];
    workload wl = {inputs, 0, 0, NULL, 0};
    int status = 0;
    for (size_t i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/testdata/ts48/%s.der", RSPKIT_SHARED_DIR, names[i]);
        inputs[i].name = names[i];
        inputs[i].data = read_all(path, &inputs[i].len);
        if (inputs[i].data == NULL) {
            printf("TS.48 packages: SKIPPED (%s not readable)\n", path);
            goto done;
        }
        wl.count++;
        wl.total += inputs[i].len;
        if (2 * inputs[i].len > wl.scratch_len)
            wl.scratch_len = 2 * inputs[i].len;
    }
    wl.scratch = malloc(wl.scratch_len);
    status = wl.scratch == NULL
                 ? 1
                 : run_workload("TS.48 profile packages: walk + header schema", &wl, package_step);
done:
    for (size_t i = 0; i < wl.count; i++)
        free(inputs[i].data);
    free(wl.scratch);
    return status;
}

static int bench_bpp(void)
{
    static uint8_t pattern[SEGMENT_SIZE];
    der_view segments[SEGMENT_COUNT];
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 131u + 7u);
    for (size_t i = 0; i < SEGMENT_COUNT; i++)
        segments[i] = der_view_make(pattern, sizeof pattern);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    if (build_bpp(&w, pattern, segments) != RSP_OK) {
        der_writer_free(&w);
        fprintf(stderr, "bench codec: building the BPP failed\n");
        return 1;
    }
    input in = {"BPP", w.buf, w.len};
    workload wl = {&in, 1, w.len, malloc(2 * w.len), 2 * w.len};
    int status = wl.scratch == NULL
                     ? 1
                     : run_workload("BPP-like BF36 (64 x 1020-byte segments)", &wl, bpp_step);
    free(wl.scratch);
    der_writer_free(&w);
    return status;
}

int bench_codec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int status = bench_packages();
    if (bench_bpp() != 0)
        status = 1;
    printf("target: codec throughput >= %.0f%% of memcpy (same run)\n", 100.0 * TARGET_RATIO);
    return status;
}
