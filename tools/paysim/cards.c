/*
 * cards.c - Stripe's test cards: the numbers and test payment method names
 * ("pm_card_visa") of Stripe's testing page, and what paying with each
 * does: succeed, or fail with Stripe's error code, decline code and
 * message. Any other Luhn-valid number is declined as Stripe's test mode
 * declines real cards (decline code test_mode_live_card).
 *
 * Workload: one lookup per confirmation in a table of a few dozen rows.
 */
#include <string.h>

#include "paysim.h"

#define DECLINED     "Your card was declined."
#define ALWAYS_OK    NULL, NULL, NULL
#define DECLINE(d)   "card_declined", d, DECLINED
#define FAIL(c, msg) c, c, msg

static const ps_card_t cards[] = {
    /* successful payments, one per brand */
    {"pm_card_visa", NULL, "4242424242424242", "visa", "credit", ALWAYS_OK},
    {"pm_card_visa_debit", NULL, "4000056655665556", "visa", "debit", ALWAYS_OK},
    {"pm_card_mastercard", NULL, "5555555555554444", "mastercard", "credit", ALWAYS_OK},
    {NULL, NULL, "2223003122003222", "mastercard", "credit", ALWAYS_OK},
    {"pm_card_mastercard_debit", NULL, "5200828282828210", "mastercard", "debit", ALWAYS_OK},
    {"pm_card_mastercard_prepaid", NULL, "5105105105105100", "mastercard", "prepaid", ALWAYS_OK},
    {"pm_card_amex", NULL, "378282246310005", "amex", "credit", ALWAYS_OK},
    {NULL, NULL, "371449635398431", "amex", "credit", ALWAYS_OK},
    {"pm_card_discover", NULL, "6011111111111117", "discover", "credit", ALWAYS_OK},
    {NULL, NULL, "6011000990139424", "discover", "credit", ALWAYS_OK},
    {"pm_card_diners", NULL, "3056930009020004", "diners", "credit", ALWAYS_OK},
    {NULL, NULL, "36227206271667", "diners", "credit", ALWAYS_OK},
    {"pm_card_jcb", NULL, "3566002020360505", "jcb", "credit", ALWAYS_OK},
    {"pm_card_unionpay", NULL, "6200000000000005", "unionpay", "credit", ALWAYS_OK},
    /* declined payments */
    {"pm_card_visa_chargeDeclined", "pm_card_chargeDeclined", "4000000000000002", "visa", "credit",
     DECLINE("generic_decline")},
    {"pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedInsufficientFunds",
     "4000000000009995", "visa", "credit", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."},
    {"pm_card_visa_chargeDeclinedLostCard", "pm_card_chargeDeclinedLostCard", "4000000000009987",
     "visa", "credit", DECLINE("lost_card")},
    {"pm_card_visa_chargeDeclinedStolenCard", "pm_card_chargeDeclinedStolenCard",
     "4000000000009979", "visa", "credit", DECLINE("stolen_card")},
    {"pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard",
     "4000000000000069", "visa", "credit", FAIL("expired_card", "Your card has expired.")},
    {"pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc",
     "4000000000000127", "visa", "credit",
     FAIL("incorrect_cvc", "Your card's security code is incorrect.")},
    {"pm_card_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError",
     "4000000000000119", "visa", "credit",
     FAIL("processing_error",
          "An error occurred while processing your card. Try again in a little bit.")},
    {"pm_card_visa_chargeDeclinedVelocityLimitExceeded",
     "pm_card_chargeDeclinedVelocityLimitExceeded", "4000000000006975", "visa", "credit",
     DECLINE("card_velocity_exceeded")},
    {"pm_card_radarBlock", NULL, "4100000000000019", "visa", "credit", DECLINE("fraudulent")},
};

/* Numbers that are not test cards: declined like Stripe's test mode does. */
static const char *const brands[][2] = {
    {"4", "visa"},        {"51", "mastercard"}, {"52", "mastercard"}, {"53", "mastercard"},
    {"54", "mastercard"}, {"55", "mastercard"}, {"2", "mastercard"},  {"34", "amex"},
    {"37", "amex"},       {"35", "jcb"},        {"30", "diners"},     {"36", "diners"},
    {"38", "diners"},     {"62", "unionpay"},   {"6", "discover"}};

static const ps_card_t live_cards[] = {
#define LIVE(b)                                                                                    \
    {                                                                                              \
        NULL, NULL, NULL, b, "credit", "card_declined", "test_mode_live_card",                     \
            "Your card was declined. Your request was in test mode, but used a non test (live) "   \
            "card. "                                                                               \
            "For a list of valid test cards, visit: https://stripe.com/docs/testing."              \
    }
    LIVE("visa"),   LIVE("mastercard"), LIVE("amex"),     LIVE("jcb"),
    LIVE("diners"), LIVE("unionpay"),   LIVE("discover"), LIVE("unknown"),
#undef LIVE
};

const ps_card_t *ps_card_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++)
        if ((cards[i].pm_name && !strcmp(cards[i].pm_name, name)) ||
            (cards[i].alias && !strcmp(cards[i].alias, name)))
            return &cards[i];
    return NULL;
}

static const ps_card_t *live_card(const char *digits)
{
    const char *brand = "unknown";
    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++) {
        if (!strncmp(digits, brands[i][0], strlen(brands[i][0]))) {
            brand = brands[i][1];
            break;
        }
    }
    for (size_t i = 0; i < sizeof(live_cards) / sizeof(live_cards[0]); i++)
        if (!strcmp(live_cards[i].brand, brand))
            return &live_cards[i];
    return &live_cards[sizeof(live_cards) / sizeof(live_cards[0]) - 1];
}

const ps_card_t *ps_card_by_number(const char *digits)
{
    for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++)
        if (cards[i].number && !strcmp(cards[i].number, digits))
            return &cards[i];
    return live_card(digits);
}

bool ps_luhn_ok(const char *digits)
{
    size_t n = strlen(digits);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(digits[n - 1 - i] - '0');
        if (d > 9)
            return false;
        if (i % 2 == 1)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return n > 0 && sum % 10 == 0;
}
