/* rspkit saip: inspect and personalise SAIP profile packages.
 *   rspkit saip info FILE
 *   rspkit saip personalise IN OUT --iccid DIGITS [--imsi DIGITS] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/saip.h"

#define SAIP_FILE_MAX (16u * 1024u * 1024u)

static int usage(void)
{
    fprintf(stderr, "usage: rspkit saip info FILE\n"
                    "       rspkit saip personalise IN OUT --iccid DIGITS [--imsi DIGITS]\n");
    return 2;
}

static uint8_t *read_package(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t used = 0, cap = 0;
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    for (;;) {
        if (used == cap) {
            size_t next = cap ? cap * 2 : 65536;
            uint8_t *grown = next <= SAIP_FILE_MAX ? realloc(data, next) : NULL;
            if (grown == NULL) {
                fprintf(stderr, "%s: too large or out of memory\n", path);
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap = next;
        }
        size_t n = fread(data + used, 1, cap - used, f);
        used += n;
        if (n == 0)
            break;
    }
    fclose(f);
    *len = used;
    return data;
}

static void print_oid(der_view v)
{
    uint64_t arc = 0;
    bool first = true;
    for (size_t i = 0; i < v.len; i++) {
        arc = (arc << 7) | (v.data[i] & 0x7Fu);
        if (v.data[i] & 0x80u)
            continue;
        if (first) {
            unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            printf("%u.%" PRIu64, top, arc - 40u * top);
            first = false;
        } else {
            printf(".%" PRIu64, arc);
        }
        arc = 0;
    }
}

static void print_hex(der_view v)
{
    for (size_t i = 0; i < v.len; i++)
        printf("%02X", v.data[i]);
}

static int report(const char *what, const rsp_error *err)
{
    char text[256];
    fprintf(stderr, "%s: %s\n", what, rsp_error_format(err, text, sizeof text));
    return 1;
}

static void print_header(const saip_header *header)
{
    char digits[21];
    printf("header:\n  version: %" PRId64 ".%" PRId64 "\n", header->major_version,
           header->minor_version);
    if (header->has_profile_type)
        printf("  profile type: %.*s\n", (int)header->profile_type.len,
               (const char *)header->profile_type.data);
    printf("  ICCID: ");
    if (saip_iccid_digits(header->iccid, digits, NULL) == RSP_OK)
        printf("%s\n", digits);
    else
        print_hex(header->iccid), printf(" (not BCD)\n");
    printf("  mandatory services:");
    for (size_t i = 0; i < SAIP_SERVICE_COUNT; i++)
        if (header->mandatory_services.present[i])
            printf(" %s", saip_service_names[i]);
    printf("\n  mandatory GFSTE:");
    const der_view *oids = header->mandatory_gfste_list.items;
    for (size_t i = 0; i < header->mandatory_gfste_list.count; i++) {
        printf(" ");
        print_oid(oids[i]);
    }
    printf("\n");
    if (header->has_mandatory_aids) {
        const saip_mandatory_aid *aids = header->mandatory_aids.items;
        printf("  mandatory AIDs:");
        for (size_t i = 0; i < header->mandatory_aids.count; i++) {
            printf(" ");
            print_hex(aids[i].aid);
            printf(" (version ");
            print_hex(aids[i].version);
            printf(")");
        }
        printf("\n");
    }
    if (header->has_pol) {
        printf("  POL: ");
        print_hex(header->pol);
        printf("\n");
    }
    if (header->has_connectivity_parameters)
        printf("  connectivity parameters: %zu bytes\n", header->connectivity_parameters.len);
    if (header->has_iot_options) {
        printf("  IoT PIX: ");
        print_hex(header->iot_options.pix);
        printf("\n");
    }
}

static int info(const char *path)
{
    size_t len = 0, count = 0;
    uint8_t *package = read_package(path, &len);
    rsp_error err = {0};
    int status = 0;
    if (package == NULL)
        return 1;
    der_view view = der_view_make(package, len);
    static uint8_t arena_buffer[65536];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_header header;
    saip_walker walker;
    saip_element element;
    if (saip_validate(view, &count, &err) != RSP_OK) {
        status = report(path, &err);
        goto done;
    }
    saip_walker_init(&walker, view);
    if (saip_walker_next(&walker, &element, &err) != RSP_OK ||
        saip_header_decode(element.tlv.whole, &header, &arena, &err) != RSP_OK) {
        status = report("header", &err);
        goto done;
    }
    print_header(&header);
    printf("elements: %zu\n  %5s %7s %7s  %-22s %s\n", count, "index", "offset", "length", "name",
           "summary");
    saip_walker_init(&walker, view);
    while (saip_walker_next(&walker, &element, &err) == RSP_OK) {
        char summary[1024];
        rsp_error summary_err = {0};
        saip_element_summary(&element, summary, sizeof summary, &summary_err);
        printf("  %5zu %7zu %7zu  %-22s %s\n", element.index, element.tlv.offset,
               element.tlv.whole.len, element.name, summary);
        if (summary_err.code != RSP_OK) {
            char text[256];
            printf("  %5s %7s %7s  %-22s (%s)\n", "", "", "", "",
                   rsp_error_format(&summary_err, text, sizeof text));
        }
    }
done:
    free(package);
    return status;
}

static int personalise(int argc, char **argv)
{
    saip_identity identity = {NULL, NULL};
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iccid") == 0)
            identity.iccid = argv[i + 1];
        else if (strcmp(argv[i], "--imsi") == 0)
            identity.imsi = argv[i + 1];
        else
            return usage();
    }
    if (argc < 5 || argc % 2 == 0 || identity.iccid == NULL)
        return usage();
    size_t len = 0;
    uint8_t *package = read_package(argv[1], &len);
    if (package == NULL)
        return 1;
    der_writer out;
    rsp_error err = {0};
    int status = 0;
    der_writer_init_dynamic(&out, NULL);
    if (saip_personalise(der_view_make(package, len), &identity, &out, &err) != RSP_OK) {
        status = report(argv[1], &err);
    } else {
        FILE *f = fopen(argv[2], "wb");
        if (f == NULL || fwrite(out.buf, 1, out.len, f) != out.len) {
            perror(argv[2]);
            status = 1;
        }
        if (f != NULL && fclose(f) != 0) {
            perror(argv[2]);
            status = 1;
        }
    }
    der_writer_free(&out);
    free(package);
    return status;
}

int cli_saip(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return info(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "personalise") == 0)
        return personalise(argc - 1, argv + 1);
    return usage();
}
