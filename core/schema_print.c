/* schema_print: a readable, indented dump of any decoded schema value. One line per field,
 * `name: value`; constructed values open an indented block under their name. OCTET STRINGs
 * print as hex (long ones wrapped), printable UTF-8 as quoted text, OIDs dotted, named values
 * and bits by name, CHOICEs as `alternative: value` one level down. */
#include <inttypes.h>
#include <string.h>

#include "core/schema.h"

#define HEX_BYTES_PER_LINE 32

static void print_value(const schema_type *type, const void *ptr, FILE *out, int indent,
                        const char *label, int depth);

static void pad(FILE *out, int indent)
{
    for (int i = 0; i < indent; i++)
        fputs("  ", out);
}

static void print_hex(const uint8_t *data, size_t len, FILE *out)
{
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02X", data[i]);
}

/* Short values on the label's line; longer ones as wrapped lines one level deeper. */
static void print_octets(der_view v, FILE *out, int indent)
{
    if (v.len <= HEX_BYTES_PER_LINE) {
        print_hex(v.data, v.len, out);
        fputs(v.len == 0 ? "''\n" : "\n", out);
        return;
    }
    fprintf(out, "(%zu bytes)\n", v.len);
    for (size_t i = 0; i < v.len; i += HEX_BYTES_PER_LINE) {
        size_t n = v.len - i < HEX_BYTES_PER_LINE ? v.len - i : HEX_BYTES_PER_LINE;
        pad(out, indent + 1);
        print_hex(v.data + i, n, out);
        fputc('\n', out);
    }
}

static bool printable_text(der_view v)
{
    for (size_t i = 0; i < v.len; i++)
        if (v.data[i] < 0x20 || v.data[i] == 0x7F)
            return false;
    return true;
}

static void print_text(der_view v, FILE *out, int indent)
{
    if (!printable_text(v)) {
        print_octets(v, out, indent);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < v.len; i++) {
        if (v.data[i] == '"' || v.data[i] == '\\')
            fputc('\\', out);
        fputc(v.data[i], out);
    }
    fputs("\"\n", out);
}

/* X.690 section 8.19: base-128 arcs, the first two folded into 40 * X + Y. */
static void print_oid(der_view v, FILE *out)
{
    uint64_t arc = 0;
    bool first = true;
    for (size_t i = 0; i < v.len; i++) {
        if (arc > (UINT64_MAX >> 7)) {
            fputs("(arc too large)", out);
            return;
        }
        arc = (arc << 7) | (v.data[i] & 0x7Fu);
        if (v.data[i] & 0x80u)
            continue;
        if (first) {
            unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            fprintf(out, "%u.%" PRIu64, top, arc - 40u * top);
            first = false;
        } else {
            fprintf(out, ".%" PRIu64, arc);
        }
        arc = 0;
    }
}

static const char *value_name(const schema_type *type, int64_t value)
{
    if (type->names == NULL || value < 0 || (uint64_t)value >= type->name_count)
        return NULL;
    return type->names[value];
}

static void print_bits(const schema_type *type, const schema_bits *bits, FILE *out)
{
    print_hex(bits->bytes.data, bits->bytes.len, out);
    fprintf(out, "%s(%zu bits)", bits->bytes.len ? " " : "",
            bits->bytes.len * 8 - bits->unused_bits);
    if (type->names == NULL) {
        fputc('\n', out);
        return;
    }
    fputs(" {", out);
    bool any = false;
    for (unsigned bit = 0; bit < bits->bytes.len * 8; bit++) {
        if (!schema_bits_get(bits, bit))
            continue;
        const char *name = bit < type->name_count ? type->names[bit] : NULL;
        fprintf(out, "%s ", any ? "," : "");
        if (name != NULL)
            fputs(name, out);
        else
            fprintf(out, "bit%u", bit);
        any = true;
    }
    fputs(any ? " }\n" : "}\n", out);
}

static void print_sequence(const schema_type *type, const uint8_t *base, FILE *out, int indent,
                           int depth)
{
    for (size_t i = 0; i < type->field_count; i++) {
        const schema_field *f = &type->fields[i];
        if (f->presence_offset != SCHEMA_NO_PRESENCE && !*(const bool *)(base + f->presence_offset))
            continue;
        print_value(f->type, base + f->offset, out, indent, f->name, depth + 1);
    }
}

static void print_choice(const schema_type *type, const uint8_t *base, FILE *out, int indent,
                         int depth)
{
    int choice = *(const int *)base;
    if (choice < 1 || (size_t)choice > type->field_count) {
        pad(out, indent);
        fputs("(unknown alternative)\n", out);
        return;
    }
    const schema_field *f = &type->fields[choice - 1];
    print_value(f->type, base + f->offset, out, indent, f->name, depth + 1);
}

static void print_list(const schema_type *type, const schema_list *list, FILE *out, int indent,
                       int depth)
{
    size_t element_size = schema_value_size(type->element);
    for (size_t i = 0; i < list->count; i++) {
        char label[32];
        snprintf(label, sizeof label, "[%zu]", i);
        print_value(type->element, (const uint8_t *)list->items + i * element_size, out, indent,
                    label, depth + 1);
    }
}

static void print_value(const schema_type *type, const void *ptr, FILE *out, int indent,
                        const char *label, int depth)
{
    pad(out, indent);
    fprintf(out, "%s:", label);
    if (depth > DER_MAX_DEPTH + 2) {
        fputs(" (too deep)\n", out);
        return;
    }
    switch (type->kind) {
    case SCHEMA_SEQUENCE: {
        bool empty = true;
        for (size_t i = 0; i < type->field_count && empty; i++) {
            const schema_field *f = &type->fields[i];
            empty = f->presence_offset != SCHEMA_NO_PRESENCE &&
                    !*(const bool *)((const uint8_t *)ptr + f->presence_offset);
        }
        fputs(empty ? " {}\n" : "\n", out);
        print_sequence(type, ptr, out, indent + 1, depth);
        return;
    }
    case SCHEMA_CHOICE:
        fputc('\n', out);
        print_choice(type, ptr, out, indent + 1, depth);
        return;
    case SCHEMA_SEQUENCE_OF: {
        const schema_list *list = ptr;
        fputs(list->count == 0 ? " []\n" : "\n", out);
        print_list(type, list, out, indent + 1, depth);
        return;
    }
    default:
        break;
    }
    fputc(' ', out);
    switch (type->kind) {
    case SCHEMA_OCTETS:
        print_octets(*(const der_view *)ptr, out, indent);
        break;
    case SCHEMA_UTF8:
        print_text(*(const der_view *)ptr, out, indent);
        break;
    case SCHEMA_INTEGER:
    case SCHEMA_ENUMERATED: {
        int64_t value = *(const int64_t *)ptr;
        const char *name = value_name(type, value);
        if (name != NULL)
            fprintf(out, "%s (%" PRId64 ")\n", name, value);
        else
            fprintf(out, "%" PRId64 "\n", value);
        break;
    }
    case SCHEMA_BOOLEAN:
        fputs(*(const bool *)ptr ? "true\n" : "false\n", out);
        break;
    case SCHEMA_NULL:
        fputs("NULL\n", out);
        break;
    case SCHEMA_BIT_STRING:
        print_bits(type, ptr, out);
        break;
    case SCHEMA_OID:
        print_oid(*(const der_view *)ptr, out);
        fputc('\n', out);
        break;
    case SCHEMA_RAW: {
        const der_view *v = ptr;
        if (v->len <= HEX_BYTES_PER_LINE) {
            print_hex(v->data, v->len, out);
            fprintf(out, " (%zu bytes)\n", v->len);
        } else {
            print_octets(*v, out, indent);
        }
        break;
    }
    default:
        fputs("(unprintable)\n", out);
        break;
    }
}

void schema_print(const schema_type *type, const void *value, FILE *out, int indent)
{
    print_value(type, value, out, indent, type->name, 0);
}
