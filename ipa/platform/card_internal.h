/* Common head of every APDU transport in ipa/platform. */
#ifndef RSPKIT_IPA_PLATFORM_CARD_INTERNAL_H
#define RSPKIT_IPA_PLATFORM_CARD_INTERNAL_H

#include "ipa/platform/platform.h"

struct ipa_card {
    rsp_status (*transmit)(ipa_card *card, const uint8_t *command, size_t command_len,
                           uint8_t *response, size_t response_cap, size_t *response_len,
                           rsp_error *err);
    void (*close)(ipa_card *card);
};

#endif
