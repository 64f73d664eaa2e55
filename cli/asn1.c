/* rspkit asn1: decode and pretty-print any SGP.22 / SGP.32 message.
 *   rspkit asn1 decode FILE|HEX [--type NAME] [--tree]
 *   rspkit asn1 types
 * Input is a file (binary DER, or hex / base64 text) or a hex string on the command line.
 * Exit status: 0 decoded, 1 decode error (printed with its offset), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/message_registry.h"

#define INPUT_MAX   (16u * 1024u * 1024u)
#define ARENA_SIZE  (4u * 1024u * 1024u)
#define MATCHES_MAX 8

static int usage(void)
{
    fprintf(stderr, "usage: rspkit asn1 decode FILE|HEX [--type NAME] [--tree]\n"
                    "       rspkit asn1 types\n");
    return 2;
}

static int report(const char *what, const rsp_error *err)
{
    char text[256];
    fprintf(stderr, "%s: %s\n", what, rsp_error_format(err, text, sizeof text));
    return 1;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int base64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes base64 (standard or URL alphabet, padding optional) in place; -1 if not base64. */
static long base64_decode_in_place(uint8_t *text, size_t len)
{
    size_t out = 0, pad = 0;
    uint32_t bits = 0;
    int have = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_space(text[i]))
            continue;
        if (text[i] == '=') {
            pad++;
            continue;
        }
        int v = base64_value(text[i]);
        if (v < 0 || pad > 0)
            return -1;
        bits = (bits << 6) | (uint32_t)v;
        have += 6;
        if (have >= 8) {
            have -= 8;
            text[out++] = (uint8_t)(bits >> have);
        }
    }
    return pad > 2 || have >= 6 ? -1 : (long)out;
}

/* Turns text input into bytes: hex when it is all hex digits, else base64. */
static long text_to_bytes(uint8_t *data, size_t len)
{
    bool hex = true;
    size_t digits = 0;
    for (size_t i = 0; i < len && hex; i++) {
        hex = is_hex(data[i]) || is_space(data[i]);
        digits += is_hex(data[i]);
    }
    if (hex && digits % 2 == 0) {
        char *copy = malloc(len + 1);
        long n = -1;
        if (copy != NULL) {
            memcpy(copy, data, len);
            copy[len] = '\0';
            n = der_hex_decode(copy, data, len);
            free(copy);
        }
        return n;
    }
    return base64_decode_in_place(data, len);
}

static bool looks_textual(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(data[i]) && base64_value(data[i]) < 0 && data[i] != '=')
            return false;
    return len > 0;
}

static uint8_t *load_input(const char *source, size_t *len)
{
    FILE *f = fopen(source, "rb");
    uint8_t *data = NULL;
    size_t used = 0, cap = 0;
    if (f == NULL) {
        size_t n = strlen(source);
        data = malloc(n + 1);
        if (data == NULL)
            return NULL;
        memcpy(data, source, n);
        long decoded = text_to_bytes(data, n);
        if (decoded < 0) {
            fprintf(stderr, "rspkit asn1: '%s' is neither a readable file nor hex/base64\n",
                    source);
            free(data);
            return NULL;
        }
        *len = (size_t)decoded;
        return data;
    }
    for (;;) {
        if (used == cap) {
            size_t next = cap ? cap * 2 : 65536;
            uint8_t *grown = next <= INPUT_MAX ? realloc(data, next) : NULL;
            if (grown == NULL) {
                fprintf(stderr, "%s: too large or out of memory\n", source);
                free(data);
                fclose(f);
                return NULL;
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
    if (looks_textual(data, used)) {
        long decoded = text_to_bytes(data, used);
        if (decoded >= 0)
            used = (size_t)decoded;
    }
    *len = used;
    return data;
}

static int print_tree(der_view input)
{
    rsp_error err = {0};
    if (message_print_tree(input, stdout, &err) != RSP_OK)
        return report("tree", &err);
    return 0;
}

static void print_match(const message_match *match)
{
    printf("# %s %s\n", match->entry->module, match->entry->type->name);
    schema_print(match->entry->type, match->value, stdout, 0);
}

static int decode_as(der_view input, const char *type_name, schema_arena *arena)
{
    const message_entry *entry = message_registry_find(type_name);
    message_match match;
    rsp_error err = {0};
    if (entry == NULL) {
        fprintf(stderr, "rspkit asn1: unknown type '%s' (see: rspkit asn1 types)\n", type_name);
        return 2;
    }
    if (message_decode(entry, input, arena, &match, &err) != RSP_OK)
        return report(entry->type->name, &err);
    print_match(&match);
    return 0;
}

/* Prints the exact matches (or, failing those, every partial one), one per type name: the
 * SGP.32 catalogue re-exports SGP.22 types under the same names. */
static void print_matches(const message_match *matches, size_t found)
{
    size_t exact = 0, shown = 0;
    for (size_t i = 0; i < found; i++)
        exact += matches[i].exact;
    for (size_t i = 0; i < found; i++) {
        bool duplicate = false;
        for (size_t k = 0; k < i && !duplicate; k++)
            duplicate = strcmp(matches[k].entry->type->name, matches[i].entry->type->name) == 0;
        if (duplicate || (exact > 0 && !matches[i].exact))
            continue;
        if (shown++ > 0)
            printf("\n");
        print_match(&matches[i]);
    }
    if (exact == 0)
        printf("# partial match only: fields this version does not know were skipped\n");
    else if (found > exact)
        printf("# %zu more type(s) decode this input only by skipping its fields\n", found - exact);
}

static int decode_auto(der_view input, schema_arena *arena)
{
    message_match matches[MATCHES_MAX];
    size_t candidates = 0;
    rsp_error err = {0};
    size_t found = message_detect(input, arena, matches, MATCHES_MAX, &candidates, &err);
    if (found > 0) {
        print_matches(matches, found);
        return 0;
    }
    if (candidates > 0) {
        report("no registered type decodes this input; closest", &err);
        print_tree(input);
        return 1;
    }
    if (err.code == RSP_ERR_TRAILING && err.offset > 0) {
        /* several TLVs back to back: a profile package or a command stream */
        printf("# %zu bytes hold several TLVs (a profile package? see rspkit saip info); "
               "generic TLV tree:\n",
               input.len);
        return print_tree(input);
    }
    if (err.code != RSP_OK)
        return report("input", &err);
    printf("# no registered type has this tag; generic TLV tree:\n");
    return print_tree(input);
}

static int decode(int argc, char **argv)
{
    const char *source = NULL, *type_name = NULL;
    bool tree = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
            type_name = argv[++i];
        else if (strcmp(argv[i], "--tree") == 0)
            tree = true;
        else if (source == NULL && argv[i][0] != '-')
            source = argv[i];
        else
            return usage();
    }
    if (source == NULL || (tree && type_name != NULL))
        return usage();
    size_t len = 0;
    uint8_t *data = load_input(source, &len);
    if (data == NULL)
        return 1;
    der_view input = der_view_make(data, len);
    int status;
    if (tree) {
        status = print_tree(input);
    } else {
        schema_arena arena;
        void *arena_buffer = malloc(ARENA_SIZE);
        schema_arena_init(&arena, arena_buffer, arena_buffer != NULL ? ARENA_SIZE : 0);
        status =
            type_name != NULL ? decode_as(input, type_name, &arena) : decode_auto(input, &arena);
        free(arena_buffer);
    }
    free(data);
    return status;
}

static int list_types(void)
{
    size_t count = message_registry_count();
    for (size_t i = 0; i < count; i++) {
        const message_entry *e = message_registry_at(i);
        printf("%s  %-6X %s\n", e->module, (unsigned)e->type->tag, e->type->name);
    }
    return 0;
}

int cli_asn1(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "decode") == 0)
        return decode(argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "types") == 0)
        return list_types();
    return usage();
}
