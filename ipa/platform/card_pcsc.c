/* APDU transport through a PC/SC reader (pcsclite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipa/platform/card_internal.h"

#ifdef RSPKIT_HAVE_PCSC
#include <winscard.h>

typedef struct {
    ipa_card base;
    SCARDCONTEXT context;
    SCARDHANDLE handle;
    DWORD protocol;
} pcsc_card;

static rsp_status pcsc_transmit(ipa_card *base, const uint8_t *command, size_t command_len,
                                uint8_t *response, size_t response_cap, size_t *response_len,
                                rsp_error *err)
{
    pcsc_card *card = (pcsc_card *)base;
    const SCARD_IO_REQUEST *pci = card->protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    DWORD len = (DWORD)response_cap;
    LONG rc = SCardTransmit(card->handle, pci, command, (DWORD)command_len, NULL, response, &len);
    if (rc != SCARD_S_SUCCESS)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "PC/SC transmit: %s", pcsc_stringify_error(rc));
    *response_len = len;
    return RSP_OK;
}

static void pcsc_close(ipa_card *base)
{
    pcsc_card *card = (pcsc_card *)base;
    if (card->handle)
        SCardDisconnect(card->handle, SCARD_RESET_CARD);
    SCardReleaseContext(card->context);
    free(card);
}

/* Picks the reader: index, name substring, or the first one. */
static const char *pick_reader(const char *readers, DWORD len, const char *wanted)
{
    bool by_index = wanted && wanted[0] && strspn(wanted, "0123456789") == strlen(wanted);
    long index = by_index ? atol(wanted) : 0;
    for (const char *r = readers; r < readers + len && *r; r += strlen(r) + 1, index--) {
        if (by_index ? index == 0 : (!wanted || !wanted[0] || strstr(r, wanted)))
            return r;
    }
    return NULL;
}

rsp_status ipa_card_open_pcsc(const char *reader, ipa_card **out, rsp_error *err)
{
    *out = NULL;
    pcsc_card *card = calloc(1, sizeof *card);
    char readers[4096];
    DWORD len = sizeof readers;
    if (!card)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    card->base.transmit = pcsc_transmit;
    card->base.close = pcsc_close;
    LONG rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &card->context);
    if (rc == SCARD_S_SUCCESS)
        rc = SCardListReaders(card->context, NULL, readers, &len);
    const char *name = rc == SCARD_S_SUCCESS ? pick_reader(readers, len, reader) : NULL;
    if (rc == SCARD_S_SUCCESS && !name)
        rc = SCARD_E_UNKNOWN_READER;
    if (rc == SCARD_S_SUCCESS)
        rc = SCardConnect(card->context, name, SCARD_SHARE_SHARED,
                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card->handle, &card->protocol);
    if (rc != SCARD_S_SUCCESS) {
        rsp_error_set(err, RSP_ERR_IO, 0, 0, "PC/SC reader %s: %s", reader ? reader : "(first)",
                      pcsc_stringify_error(rc));
        pcsc_close(&card->base);
        return RSP_ERR_IO;
    }
    *out = &card->base;
    return RSP_OK;
}
#else
rsp_status ipa_card_open_pcsc(const char *reader, ipa_card **out, rsp_error *err)
{
    (void)reader;
    *out = NULL;
    return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "built without pcsclite");
}
#endif
