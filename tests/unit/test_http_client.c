/*
 * test_http_client.c - who sent a request (src/http/client.c): the peer,
 * or behind trusted proxies the right-most X-Forwarded-For address that is
 * not itself a trusted proxy; trusted sets of IPv4 and IPv6 networks.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/http.h"

static bo_http_trusted_t loopback;

static void setup(void)
{
    bo_http_trusted_default(&loopback);
}

TestSuite(client, .init = setup);

/* The client of a request from peer with X-Forwarded-For xff (NULL: none). */
static const char *client(const bo_http_trusted_t *t, const char *peer, const char *xff)
{
    static char out[BO_HTTP_ADDR_MAX];
    bo_http_client_addr_of(t, peer, xff, xff ? strlen(xff) : 0, out);
    return out;
}

Test(client, an_untrusted_peer_is_the_client_whatever_it_says)
{
    cr_assert_str_eq(client(&loopback, "203.0.113.7", NULL), "203.0.113.7");
    cr_assert_str_eq(client(&loopback, "203.0.113.7", "198.51.100.1"), "203.0.113.7");
    cr_assert_str_eq(client(&loopback, "2001:db8::1", "198.51.100.1, 127.0.0.1"), "2001:db8::1");
}

Test(client, a_trusted_peer_without_the_header_is_the_client)
{
    cr_assert_str_eq(client(&loopback, "127.0.0.1", NULL), "127.0.0.1");
    cr_assert_str_eq(client(&loopback, "::1", ""), "::1");
    cr_assert_str_eq(client(&loopback, "127.0.0.1", " , "), "127.0.0.1");
}

Test(client, behind_trusted_proxies_the_first_untrusted_from_the_right)
{
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "198.51.100.1"), "198.51.100.1");
    /* what the client wrote itself (the left part) proves nothing */
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "1.1.1.1, 198.51.100.1"), "198.51.100.1");
    /* trusted hops are skipped */
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "1.1.1.1, 198.51.100.1, 127.0.0.2, ::1"),
                     "198.51.100.1");
    /* every hop trusted: the left-most */
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "127.0.0.9,127.0.0.8"), "127.0.0.9");
}

Test(client, ports_brackets_spaces_and_mapped_addresses)
{
    cr_assert_str_eq(client(&loopback, "127.0.0.1", " 198.51.100.1:4431 "), "198.51.100.1");
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "[2001:db8::5]:443"), "2001:db8::5");
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "2001:DB8:0::5"), "2001:db8::5");
    cr_assert_str_eq(client(&loopback, "::ffff:127.0.0.1", "::ffff:198.51.100.1"), "198.51.100.1");
}

Test(client, garbage_ends_the_walk_at_the_last_trusted_hop)
{
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "198.51.100.1, nonsense"), "127.0.0.1");
    cr_assert_str_eq(client(&loopback, "127.0.0.1", "198.51.100.1, unknown, 127.0.0.3"),
                     "127.0.0.3");
    cr_assert_str_eq(client(&loopback, "unknown", "198.51.100.1"), "unknown");
}

Test(client, a_trusted_set_of_networks)
{
    bo_http_trusted_t t = {0};
    cr_assert_eq(bo_http_trusted_add(&t, "10.0.0.0/8"), 0);
    cr_assert_eq(bo_http_trusted_add(&t, "2001:db8:1::/48"), 0);
    cr_assert_eq(bo_http_trusted_add(&t, "192.0.2.77"), 0);
    cr_assert_eq(bo_http_trusted_add(&t, "10.0.0.0/33"), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, "10.0.0/8"), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, "::1/129"), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, "[::1]"), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, "1.2.3.4:80"), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, ""), BO_EINVAL);
    cr_assert_eq(bo_http_trusted_add(&t, "10.1.2.3/"), BO_EINVAL);
    cr_assert(bo_http_trusted_has(&t, "10.255.1.2", 10));
    cr_assert(!bo_http_trusted_has(&t, "11.0.0.1", 8));
    cr_assert(bo_http_trusted_has(&t, "2001:db8:1:ffff::1", 18));
    cr_assert(!bo_http_trusted_has(&t, "2001:db8:2::1", 13));
    cr_assert(bo_http_trusted_has(&t, "192.0.2.77", 10));
    cr_assert(!bo_http_trusted_has(&t, "192.0.2.78", 10));
    cr_assert(!bo_http_trusted_has(&t, "127.0.0.1", 9), "loopback is only in the default set");
    cr_assert(!bo_http_trusted_has(&t, "not an address", 14));
    cr_assert_str_eq(client(&t, "10.0.0.1", "198.51.100.9, 10.2.3.4"), "198.51.100.9");
    cr_assert_str_eq(client(&t, "127.0.0.1", "198.51.100.9"), "127.0.0.1");
    /* a host address given with a prefix is the network */
    bo_http_trusted_t u = {0};
    cr_assert_eq(bo_http_trusted_add(&u, "172.16.5.4/12"), 0);
    cr_assert(bo_http_trusted_has(&u, "172.31.0.1", 10));
    cr_assert(!bo_http_trusted_has(&u, "172.32.0.1", 10));
}

Test(client, the_default_set_is_loopback)
{
    cr_assert(bo_http_trusted_has(&loopback, "127.0.0.1", 9));
    cr_assert(bo_http_trusted_has(&loopback, "127.200.0.1", 11));
    cr_assert(bo_http_trusted_has(&loopback, "::1", 3));
    cr_assert(!bo_http_trusted_has(&loopback, "128.0.0.1", 9));
    cr_assert(!bo_http_trusted_has(&loopback, "::2", 3));
}

Test(client, a_full_set_refuses_more)
{
    bo_http_trusted_t t = {0};
    char net[32];
    for (unsigned i = 0; i < BO_HTTP_MAX_TRUSTED; i++) {
        snprintf(net, sizeof(net), "10.0.%u.0/24", i);
        cr_assert_eq(bo_http_trusted_add(&t, net), 0);
    }
    cr_assert_eq(bo_http_trusted_add(&t, "192.0.2.1"), BO_ETOOLARGE);
}

Test(client, the_network_of_a_client_is_its_ipv4_address_or_its_ipv6_slash_64)
{
    char out[BO_HTTP_ADDR_MAX];
    bo_http_client_net_of("203.0.113.9", out);
    cr_assert_str_eq(out, "203.0.113.9");
    bo_http_client_net_of("2001:db8:1:2:3:4:5:6", out);
    cr_assert_str_eq(out, "2001:db8:1:2::/64");
    bo_http_client_net_of("2001:db8:1:2::ffff", out);
    cr_assert_str_eq(out, "2001:db8:1:2::/64", "one /64, one client");
    bo_http_client_net_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", out);
    cr_assert_str_eq(out, "ffff:ffff:ffff:ffff::/64");
    bo_http_client_net_of("unknown", out);
    cr_assert_str_eq(out, "unknown");
}
