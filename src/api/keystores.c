/* ensign api: GET /api/v1/servers/localhost/keystores, the places keys are kept: the data
 * directory's key files ("default") and those given by `ensign serve --keystore NAME=URI`, with
 * whether each works now (ensign's own resource; PowerDNS has none). Never a URI: it may hold
 * a PIN. */
#include "api/api_zone.h"

int api_keystores_list(struct api_req *rq, struct api_resp *r)
{
    if (api_store_of(rq, r, "keystores") == NULL) {
        return 0;
    }
    struct ens_ctl_keystore_state ks[ENS_CTL_MAX_KEYSTORES];
    size_t n = ens_ctl_keystores(api_opts(rq->api)->ctl, ks, ENS_CTL_MAX_KEYSTORES);
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *o =
            json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}", "name", ks[i].name, "kind",
                      ks[i].pkcs11 ? "pkcs11" : "files", "description",
                      ks[i].description != NULL ? json_string(ks[i].description) : json_null(),
                      "ok", ks[i].error == NULL, "error",
                      ks[i].error != NULL ? json_string(ks[i].error) : json_null(), "checkedAt",
                      api_time_json(ks[i].checked));
        json_array_append_new(arr, o);
    }
    return api_json(r, 200, arr);
}
