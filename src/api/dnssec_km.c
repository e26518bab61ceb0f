/* ensign api: the key manager's side of the DNSSEC routes: the rollover in the status, the
 * parent's servers, the planned key events (timeline) and the DS probe (check-ds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_zone.h"
#include "ctl/ctl.h"

/* The parent as the lookup from the root hints found it: its zone and servers, or why it was
 * not found; null when the servers are configured or no lookup was made. */
static json_t *parent_lookup_json(struct api_req *rq, const struct ens_store_zone *z)
{
    const struct ens_probe_parent *p = ens_ctl_parent_found(api_opts(rq->api)->ctl, z->name);
    if (p == NULL || z->parent_servers[0] != '\0') {
        return json_null();
    }
    json_t *servers = json_array();
    for (size_t i = 0; i < p->nservers; i++) {
        char addr[ENS_ADDR_TEXTMAX];
        ens_addr_format((const struct sockaddr *)&p->servers[i].addr, addr, sizeof addr);
        json_array_append_new(servers, json_string(addr));
    }
    struct ens_str name = {0};
    if (p->nservers > 0) {
        ens_name_to_text(p->name, &name);
    }
    json_t *o = json_pack("{s:s?, s:o, s:s?}", "zone", name.s, "servers", servers, "error",
                          p->nservers == 0 ? p->error : NULL);
    ens_str_clear(&name);
    return o;
}

void api_dnssec_km_fields(struct api_req *rq, const struct ens_store_zone *z, json_t *o)
{
    json_t *servers = json_array();
    const char *p = z->parent_servers;
    while (*p != '\0') {
        size_t len = strcspn(p, " ");
        if (len > 0) {
            json_array_append_new(servers, json_stringn(p, len));
        }
        p += len;
        p += *p == ' ';
    }
    json_object_set_new(o, "policy", z->policy[0] ? json_string(z->policy) : json_null());
    json_object_set_new(o, "parentServers", servers);
    json_object_set_new(o, "parentLookup", parent_lookup_json(rq, z));
    struct ens_km_plan *plan = malloc(sizeof *plan);
    if (plan == NULL) {
        return;
    }
    if (z->dnssec &&
        ens_ctl_km_status(api_opts(rq->api)->ctl, z->name, api_now(rq->api), plan) == 0) {
        json_t *acts = json_array();
        for (size_t i = 0; i < plan->nactions; i++) {
            json_array_append_new(acts, json_string(ens_km_act_name(plan->actions[i].type)));
        }
        json_object_set_new(o, "rollover",
                            json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o}", "kind",
                                      ens_km_rollover_name(plan->rollover), "phase", plan->phase,
                                      "waitingOn", plan->waiting[0] ? plan->waiting : NULL,
                                      "message", plan->message, "nextEventAt",
                                      api_time_json(plan->next), "actionsDue", acts));
    } else {
        json_object_set_new(o, "rollover", json_null());
    }
    free(plan);
}

int api_parent_servers(struct api_req *rq, struct api_resp *r, struct ens_store_zone *z,
                       json_t *body)
{
    json_t *arr = json_object_get(body, "parentServers");
    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) > ENS_PROBE_MAXSERVERS) {
        api_error(r, 422, "invalid-field", "parentServers: an array of at most %d addresses",
                  ENS_PROBE_MAXSERVERS);
        return -1;
    }
    char list[ENS_STORE_NAME_MAX] = "";
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *a = json_string_value(json_array_get(arr, i));
        struct sockaddr_storage ss;
        socklen_t len;
        char err[160];
        if (a == NULL || strchr(a, ' ') != NULL ||
            ens_addr_parse(a, 53, &ss, &len, err, sizeof err) != 0) {
            api_error(r, 422, "invalid-field", "parentServers[%zu]: not an address (ADDR[:PORT])",
                      i);
            return -1;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", used ? " " : "", a);
        if (n < 0 || (size_t)n >= sizeof list - used) {
            api_error(r, 422, "invalid-field", "parentServers: too long");
            return -1;
        }
        used += (size_t)n;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_parent_servers(api_opts(rq->api)->ctl, z->name, list, api_now(rq->api), &res);
    if (rc != 0) {
        api_ctl_error(r, rc, &res);
        return -1;
    }
    snprintf(z->parent_servers, sizeof z->parent_servers, "%s", list);
    return 0;
}

#define TIMELINE_MAX 512

int api_dnssec_timeline(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    if (!z.dnssec) {
        return api_json(r, 200, json_pack("{s:[]}", "events"));
    }
    struct ens_km_event *ev = calloc(TIMELINE_MAX, sizeof *ev);
    if (ev == NULL) {
        return api_error(r, 500, "internal", "out of memory");
    }
    size_t n = 0;
    int rc = ens_ctl_km_timeline(api_opts(rq->api)->ctl, name, api_now(rq->api), 366 * 86400, ev,
                                 TIMELINE_MAX, &n);
    if (rc != 0 && rc != ENS_ESPACE) {
        free(ev);
        return api_error(r, 500, "internal", "planning the timeline: %s", ens_strerror(rc));
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < TIMELINE_MAX; i++) {
        json_array_append_new(
            arr, json_pack("{s:o, s:s, s:I, s:s, s:s}", "at", api_time_json(ev[i].at), "action",
                           ens_km_act_name(ev[i].type), "keyId", (json_int_t)ev[i].key_id, "role",
                           ens_key_role_name(ev[i].role), "algorithm",
                           ens_alg_mnemonic(ev[i].algorithm)));
    }
    free(ev);
    return api_json(r, 200, json_pack("{s:o, s:b}", "events", arr, "truncated", rc == ENS_ESPACE));
}

static json_t *ds_list(const struct ens_probe_ds *ds, const size_t *idx, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct ens_probe_ds *d = &ds[idx != NULL ? idx[i] : i];
        struct ens_str t = {0};
        if (ens_rdata_to_text(ENS_T_DS, d->rdata, d->len, &t) == 0 && t.s != NULL) {
            json_array_append_new(a, json_string(t.s));
        }
        ens_str_clear(&t);
    }
    return a;
}

int api_dnssec_check_ds(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    api_lock(rq);
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        api_unlock(rq);
        return 0;
    }
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    struct ens_ctl_result res = {0};
    struct ens_ctl_probe *probe = malloc(sizeof *probe);
    int rc = probe == NULL ? ENS_ENOMEM
                           : ens_ctl_probe_prepare(ctl, name, api_now(rq->api), probe, &res);
    api_unlock(rq);
    if (rc != 0) {
        free(probe);
        return rc == ENS_ENOMEM ? api_error(r, 500, "internal", "out of memory")
                                : api_ctl_error(r, rc, &res);
    }
    /* the parent's servers are asked without the control plane's lock: other requests go on */
    struct ens_probe_parent *parent = NULL;
    struct ens_probe_result *result = NULL;
    const struct ens_probe_target *hints;
    size_t nhints;
    uint16_t port;
    ens_ctl_hints(ctl, &hints, &nhints, &port);
    rc = ens_ctl_probe_run(probe, hints, nhints, port, &parent, &result);
    api_lock(rq);
    bool looked_up = probe->lookup;
    ens_ctl_probe_done(ctl, probe, rc, parent, result, api_now(rq->api));
    free(probe);
    ens_ctl_audit(ctl, "dnssec.check-ds", name, NULL, api_now(rq->api));
    const struct ens_probe_result *pr = ens_ctl_last_probe(ctl, name);
    if (rc != 0 || pr == NULL) {
        const struct ens_probe_parent *pf = ens_ctl_parent_found(ctl, name);
        if (looked_up && pf != NULL && pf->nservers == 0) {
            api_error(r, 422, "parent-lookup-failed",
                      "the parent's servers could not be found from the root: %s; set "
                      "parentServers",
                      pf->error);
        } else {
            api_error(r, 502, "probe", "the probe failed: %s", ens_strerror(rc));
        }
        api_unlock(rq);
        return 0;
    }
    json_t *servers = json_array();
    bool seen_all = pr->nours > 0;
    for (size_t i = 0; i < pr->nours; i++) {
        seen_all = seen_all && ens_probe_ds_seen(pr, ens_probe_ds_tag(&pr->ours[i]));
    }
    for (size_t i = 0; i < pr->nservers; i++) {
        const struct ens_probe_server *s = &pr->servers[i];
        char addr[80];
        ens_addr_format((const struct sockaddr *)&s->target.addr, addr, sizeof addr);
        json_array_append_new(servers,
                              json_pack("{s:s, s:s, s:s?, s:o, s:o, s:o}", "server", addr, "status",
                                        ens_probe_status_name(s->status), "error",
                                        s->status != ENS_PROBE_OK ? s->error : NULL, "seen",
                                        ds_list(s->ds, NULL, s->nds), "missing",
                                        ds_list(pr->ours, s->missing, s->nmissing), "stale",
                                        ds_list(s->ds, s->stale, s->nstale)));
    }
    struct ens_store_status st;
    int64_t next = 0;
    bool delegated = false;
    if (ens_store_status_get(ens_ctl_store(ctl), name, &st) == 0) {
        next = st.next_ds_probe == ENS_STORE_NOTIME ? 0 : st.next_ds_probe;
        delegated = st.ds_delegated;
    }
    api_json(r, 200,
             json_pack("{s:b, s:b, s:o, s:o, s:o}", "dsDelegated", delegated, "inSync",
                       ens_probe_in_sync(pr) && seen_all, "nextDsProbeAt", api_time_json(next),
                       "servers", servers, "parentLookup", parent_lookup_json(rq, &z)));
    api_unlock(rq);
    return 0;
}

int api_dnssec_ds_withdrawn(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_ds_withdrawn(api_opts(rq->api)->ctl, name, api_now(rq->api), &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    return api_dnssec_get(rq, r);
}
