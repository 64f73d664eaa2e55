/* Registry over the SGP.22 v2.5 and SGP.32 v1.2 catalogues (core/sgp22.h, core/sgp32.h). */
#include "core/message_registry.h"

#include <string.h>

#include "core/sgp22.h"
#include "core/sgp32.h"

#define REGISTRY_MAX  512
#define TREE_TEXT_MAX 48 /* primitive values up to this size also print as hex on one line */

static message_entry registry[REGISTRY_MAX];
static size_t registry_count;
static bool registry_ready;

static void add_module(const schema_type *const *types, size_t count, const char *module)
{
    for (size_t i = 0; i < count && registry_count < REGISTRY_MAX; i++) {
        bool seen = false;
        for (size_t k = 0; k < registry_count && !seen; k++)
            seen = registry[k].type == types[i];
        if (!seen && types[i] != NULL) {
            registry[registry_count].type = types[i];
            registry[registry_count].module = module;
            registry_count++;
        }
    }
}

/* Built on first use from the two module catalogues; read-only afterwards. */
static void registry_init(void)
{
    if (registry_ready)
        return;
    add_module(sgp32_messages, sgp32_message_count, "sgp32");
    add_module(sgp22_messages, sgp22_message_count, "sgp22");
    registry_ready = true;
}

size_t message_registry_count(void)
{
    registry_init();
    return registry_count;
}

const message_entry *message_registry_at(size_t i)
{
    registry_init();
    return i < registry_count ? &registry[i] : NULL;
}

const message_entry *message_registry_find(const char *name)
{
    const char *module = NULL;
    const char *colon = strchr(name, ':');
    size_t module_len = 0;
    registry_init();
    if (colon != NULL) {
        module = name;
        module_len = (size_t)(colon - name);
        name = colon + 1;
    }
    for (size_t i = 0; i < registry_count; i++) {
        const message_entry *e = &registry[i];
        if (strcmp(e->type->name, name) != 0)
            continue;
        if (module == NULL ||
            (strlen(e->module) == module_len && strncmp(e->module, module, module_len) == 0))
            return e; /* SGP.32 entries come first, so they win an unqualified tie */
    }
    return NULL;
}

rsp_status message_decode(const message_entry *entry, der_view input, schema_arena *arena,
                          message_match *out, rsp_error *err)
{
    size_t mark = arena->used;
    size_t size = schema_value_size(entry->type);
    void *value = schema_arena_alloc(arena, size ? size : 1);
    if (value == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "decode arena exhausted");
    rsp_status st = schema_decode(entry->type, input, value, arena, err);
    if (st != RSP_OK) {
        arena->used = mark;
        return st;
    }
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    out->entry = entry;
    out->value = value;
    out->exact = schema_encode(entry->type, value, &w) == RSP_OK &&
                 der_view_equal(der_writer_view(&w), input);
    der_writer_free(&w);
    return RSP_OK;
}

/* Whether a value of `type` can start with `tag`: its own tag, or for an untagged CHOICE the
 * tag of one of its alternatives (X.680 section 30.6). */
static bool type_accepts_tag(const schema_type *type, uint32_t tag, unsigned depth)
{
    if (type->tag != 0)
        return type->tag == tag;
    if (type->kind == SCHEMA_RAW && (type->flags & SCHEMA_ANY_TAG))
        return true;
    if (type->kind != SCHEMA_CHOICE || depth > DER_MAX_DEPTH)
        return false;
    for (size_t i = 0; i < type->field_count; i++) {
        const schema_field *f = &type->fields[i];
        if (f->tag != 0 ? f->tag == tag : type_accepts_tag(f->type, tag, depth + 1))
            return true;
    }
    return false;
}

size_t message_detect(der_view input, schema_arena *arena, message_match *matches, size_t max,
                      size_t *candidates, rsp_error *err)
{
    der_tlv outer;
    size_t found = 0, tried = 0;
    rsp_error best = {0};
    registry_init();
    if (candidates != NULL)
        *candidates = 0;
    if (der_parse_single(input, &outer, err) != RSP_OK)
        return 0;
    for (size_t i = 0; i < registry_count; i++) {
        const message_entry *e = &registry[i];
        if (!type_accepts_tag(e->type, outer.tag, 0))
            continue;
        rsp_error attempt = {0};
        message_match match;
        tried++;
        if (message_decode(e, input, arena, &match, &attempt) != RSP_OK) {
            if (best.code == RSP_OK || attempt.offset > best.offset)
                best = attempt;
            continue;
        }
        if (found < max) {
            /* exact matches before partial ones, registry order otherwise */
            size_t at = found;
            while (match.exact && at > 0 && !matches[at - 1].exact) {
                matches[at] = matches[at - 1];
                at--;
            }
            matches[at] = match;
        }
        found++;
    }
    if (candidates != NULL)
        *candidates = tried;
    if (found == 0 && best.code != RSP_OK && err != NULL && err->code == RSP_OK)
        *err = best;
    return found < max ? found : max;
}

static bool printable(der_view v)
{
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if (v.data[i] < 0x20 || v.data[i] > 0x7E)
            return false;
    return true;
}

static void print_primitive(der_view v, FILE *out, int indent)
{
    size_t shown = v.len <= TREE_TEXT_MAX ? v.len : 0;
    if (v.len == 0) {
        fputc('\n', out);
        return;
    }
    fputc(shown ? ' ' : '\n', out);
    for (size_t i = 0; i < v.len; i++) {
        if (!shown && i % 32 == 0) {
            if (i > 0)
                fputc('\n', out);
            for (int k = 0; k <= indent; k++)
                fputs("  ", out);
        }
        fprintf(out, "%02X", v.data[i]);
    }
    if (printable(v))
        fprintf(out, "  \"%.*s\"", (int)v.len, (const char *)v.data);
    fputc('\n', out);
}

static rsp_status print_tlv(const der_tlv *tlv, unsigned depth, FILE *out, rsp_error *err)
{
    for (unsigned k = 0; k < depth; k++)
        fputs("  ", out);
    fprintf(out, "%02X [%zu bytes @%zu]", (unsigned)tlv->tag, tlv->value.len, tlv->offset);
    if (!tlv->constructed) {
        print_primitive(tlv->value, out, (int)depth);
        return RSP_OK;
    }
    fputc('\n', out);
    der_reader r;
    der_tlv child;
    rsp_status st = der_reader_enter(tlv, depth, &r, err);
    while (st == RSP_OK && !der_reader_at_end(&r))
        if ((st = der_reader_next(&r, &child, err)) == RSP_OK)
            st = print_tlv(&child, r.depth, out, err);
    return st;
}

rsp_status message_print_tree(der_view input, FILE *out, rsp_error *err)
{
    der_reader r;
    der_tlv tlv;
    rsp_status st = RSP_OK;
    der_reader_init(&r, input, 0, 0);
    if (input.len == 0)
        return rsp_error_set(err, RSP_ERR_TRUNCATED, 0, 0, "empty input");
    /* a concatenation of TLVs (a profile package, a STORE DATA stream) prints in full */
    while (st == RSP_OK && !der_reader_at_end(&r))
        if ((st = der_reader_next(&r, &tlv, err)) == RSP_OK)
            st = print_tlv(&tlv, 0, out, err);
    return st;
}
