/* Socket addresses as operators write them: IPv4, bracketed and bare IPv6, default ports, and
 * refusals with a sentence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"

static void test_addr_accepts_and_formats_back(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"127.0.0.1:5353", "127.0.0.1:5353"},
        {"192.0.2.1", "192.0.2.1:53"},
        {"[::1]:8053", "[::1]:8053"},
        {"[2001:db8::1]", "[2001:db8::1]:53"},
        {"::1", "[::1]:53"},
        {"0.0.0.0:0", "0.0.0.0:0"},
        {"[::]:65535", "[::]:65535"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char err[128] = "", text[ENS_ADDR_TEXTMAX];
        if (ens_addr_parse(cases[i].in, 53, &ss, &len, err, sizeof err) != 0) {
            fail_msg("%s: %s", cases[i].in, err);
        }
        assert_true(len > 0);
        assert_int_equal(ens_addr_format((struct sockaddr *)&ss, text, sizeof text), 0);
        assert_string_equal(text, cases[i].out);
    }
}

static void test_addr_refuses_with_a_reason(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "localhost:53",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:5x",
        "[::1",
        "[::1]x",
        "[::1]:",
        "1.2.3:53",
        "256.1.1.1",
        "[127.0.0.1]:53x",
        "999999999999999999999999999999999999999999999999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char err[160] = "";
        assert_int_equal(ens_addr_parse(bad[i], 53, &ss, &len, err, sizeof err), ENS_EINVAL);
        assert_non_null(strstr(err, "bad address"));
    }
    char small[4];
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(ens_addr_parse("127.0.0.1:53", 53, &ss, &len, NULL, 0), 0);
    assert_int_equal(ens_addr_format((struct sockaddr *)&ss, small, sizeof small), ENS_ESPACE);
    assert_int_equal(ens_addr_port((struct sockaddr *)&ss), 53);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_accepts_and_formats_back),
        cmocka_unit_test(test_addr_refuses_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
