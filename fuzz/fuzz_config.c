/* libFuzzer target: the input as the configuration file of `ensign serve` (YAML through
 * libyaml, then the settings table), and the settings completed and compared with the defaults
 * as a reload would. Any input is refused with a message or taken; nothing crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ens_daemon_conf *c = ens_daemon_conf_new();
    struct ens_daemon_conf *d = ens_daemon_conf_new();
    char err[800];
    if (c != NULL && d != NULL) {
        if (ens_daemon_conf_text(c, "fuzz.conf", (const char *)data, size, err, sizeof err) == 0 &&
            ens_daemon_conf_finish(c, err, sizeof err) == 0 &&
            ens_daemon_conf_finish(d, err, sizeof err) == 0) {
            const char *names[32];
            bool live[32];
            (void)ens_daemon_conf_diff(ens_daemon_conf_opts(d), ens_daemon_conf_opts(c), names,
                                       live, 32);
        }
        if (strlen(err) >= sizeof err) {
            abort();
        }
    }
    ens_daemon_conf_free(c);
    ens_daemon_conf_free(d);
    return 0;
}
