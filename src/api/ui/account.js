// The account pages: scoped tokens (the secret shown once), key and signing policies,
// webhooks, and the audit log.
import {call, SERVER} from "./api.js";
import {busy, clearFieldErrors, confirmDialog, copyButton, duration, errorBox, field, h,
        openDialog, select, setFieldError, timeEl, toast} from "./dom.js";
import {showFormError} from "./zones.js";

function table(caption, heads, rows, cls) {
  return h("div", {class: "table-wrap"}, h("table", {class: ["data", cls]},
    h("caption", {class: "visually-hidden"}, caption),
    h("thead", {}, h("tr", {}, heads.map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, rows)));
}

function cell(label, ...content) {
  return h("td", {"data-label": label}, ...content);
}

async function page(ctx, title, intro, tools, load) {
  document.title = `${title} · ensign`;
  const body = h("div");
  ctx.main.append(h("div", {class: "page-head"}, h("h1", {}, title), tools || ""), h("p", {class: "muted"}, intro), body);
  try {
    await load(body);
  } catch (e) {
    body.appendChild(errorBox(e, {title: `${title} cannot be read`}));
  }
}

// ---- tokens ----

function tokenDialog(ctx) {
  const name = h("input", {type: "text", autocomplete: "off", maxlength: "63"});
  const perm = select([["read", "read: look only"], ["update", "update: change zones and keys"]], "read");
  const zones = h("input", {type: "text", autocomplete: "off", spellcheck: "false", placeholder: "all zones"});
  const btn = h("button", {type: "submit", class: "btn primary"}, "Create token");
  const form = h("form", {novalidate: true},
    field("Name", name, "What it is for, e.g. external-dns."), field("Permission", perm),
    field("Zones", zones, "Zone names separated by spaces; empty for every zone."),
    h("div", {class: "form-alert", tabindex: "-1"}), h("div", {class: "actions"}, btn));
  const dlg = openDialog("Create a token", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const list = zones.value.split(/[\s,]+/).filter(Boolean).map((z) => (z.endsWith(".") ? z : `${z}.`));
    await busy(btn, async () => {
      let t;
      try {
        t = await call("POST", "/api/v1/tokens", {name: name.value.trim(), permission: perm.value, zones: list.length ? list : null});
      } catch (e) {
        showFormError(form, e, (f) => (f.startsWith("name") ? name : f.startsWith("permission") ? perm : f.startsWith("zones") ? zones : null));
        return;
      }
      dlg.close();
      openDialog("The new token", [
        h("p", {}, h("strong", {}, "Copy it now: "), "it is shown this once only. The server keeps only a hash of it."),
        h("div", {class: "one-line secret"}, h("code", {id: "new-token"}, t.token), copyButton(t.token, "Copy the token")),
        h("p", {class: "muted"}, `${t.name}: ${t.permission}, ${Array.isArray(t.zones) ? t.zones.join(" ") : "every zone"}.`),
      ], () => ctx.refresh());
    });
  });
}

export async function tokensPage(ctx) {
  const tools = h("div", {class: "toolbar"}, h("button", {type: "button", class: "btn primary", on: {click: () => tokenDialog(ctx)}}, "Create token"));
  await page(ctx, "Tokens", "Scoped tokens for tools and people: read or update, for every zone or some. Revoked tokens stay listed.", tools, async (body) => {
    const tokens = await call("GET", "/api/v1/tokens");
    body.appendChild(table("Tokens", ["Id", "Name", "Permission", "Zones", "Created", "Revoked", h("span", {class: "visually-hidden"}, "Actions")],
      tokens.map((t) => h("tr", {class: t.revoked ? "revoked" : null},
        cell("Id", String(t.id)), h("th", {scope: "row", "data-label": "Name"}, t.name), cell("Permission", h("span", {class: "badge"}, t.permission)),
        cell("Zones", Array.isArray(t.zones) ? t.zones.join(" ") : h("span", {class: "muted"}, "all")),
        cell("Created", timeEl(t.created)), cell("Revoked", t.revoked ? timeEl(t.revoked) : h("span", {class: "muted"}, "—")),
        h("td", {class: "row-actions"}, t.revoked ? null : h("button", {type: "button", class: "btn small danger", "aria-label": `Revoke token ${t.name}`,
          on: {click: async () => {
            if (!(await confirmDialog("Revoke the token", h("p", {}, `Revoke “${t.name}”? Tools using it stop working at once.`), "Revoke"))) return;
            try {
              await call("DELETE", `/api/v1/tokens/${t.id}`);
              toast(`Revoked ${t.name}`);
              ctx.refresh();
            } catch (e) {
              openDialog("Not revoked", errorBox(e));
            }
          }}}, "Revoke")))), "tokens"));
  });
}

// ---- policies ----

const POLICY_FIELDS = [
  ["kskLifetime", "KSK lifetime", true], ["zskLifetime", "ZSK lifetime", true], ["cskLifetime", "CSK lifetime", true],
  ["dnskeyTtl", "DNSKEY TTL"], ["zoneMaxTtl", "Largest TTL in the zone"], ["propagationDelay", "Propagation delay"],
  ["parentDsTtl", "Parent DS TTL"], ["parentPropagationDelay", "Parent propagation delay"],
  ["signatureValidity", "Signature validity"], ["signatureRefresh", "Signature refresh"],
  ["publishSafety", "Publish safety"], ["retireSafety", "Retire safety"],
];

function secs(v, lifetime) {
  if (lifetime && v === 0) return "unlimited";
  return `${duration(v)}${v >= 60 ? ` (${v} s)` : ""}`;
}

function policyDialog(ctx, p) {
  const editing = Boolean(p);
  const name = h("input", {type: "text", autocomplete: "off", value: editing ? p.name : "", disabled: editing});
  const alg = select([["ECDSAP256SHA256", "ECDSA P-256 (13)"], ["ECDSAP384SHA384", "ECDSA P-384 (14)"], ["ED25519", "Ed25519 (15)"], ["ED448", "Ed448 (16)"],
                      ["rsa-2048", "RSA/SHA-256 2048 (8)"], ["rsa-3072", "RSA/SHA-256 3072 (8)"], ["rsa-4096", "RSA/SHA-256 4096 (8)"]],
                     editing ? (p.algorithm === "RSASHA256" ? `rsa-${p.bits}` : p.algorithm) : "ECDSAP256SHA256");
  const scheme = select([["csk", "CSK"], ["ksk-zsk", "KSK + ZSK"]], editing ? p.scheme : "csk");
  const inputs = {};
  const nums = POLICY_FIELDS.map(([k, label, life]) => {
    inputs[k] = h("input", {type: "number", min: "0", step: "1", inputmode: "numeric", value: editing ? String(p[k]) : "", placeholder: "default"});
    return field(`${label} (s)`, inputs[k], life ? "0: unlimited" : null);
  });
  const nsec3 = h("input", {type: "checkbox", id: "pol-nsec3", checked: editing ? p.nsec3.enabled : true});
  const btn = h("button", {type: "submit", class: "btn primary"}, editing ? "Save" : "Create policy");
  const form = h("form", {novalidate: true},
    h("div", {class: "row"}, field("Name", name), field("Algorithm", alg), field("Keys", scheme)),
    h("div", {class: "grid-fields"}, nums),
    h("div", {class: "checkline"}, nsec3, h("label", {for: "pol-nsec3"}, "NSEC3 (no salt, no extra iterations)")),
    h("div", {class: "form-alert", tabindex: "-1"}), h("div", {class: "actions"}, btn));
  const dlg = openDialog(editing ? `Policy ${p.name}` : "Create a policy", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = {algorithm: alg.value, scheme: scheme.value, nsec3: {enabled: nsec3.checked}};
    if (!editing) body.name = name.value.trim();
    for (const [k] of POLICY_FIELDS) {
      const v = inputs[k].value;
      if (v !== "") body[k] = Number(v);
      else if (inputs[k].validity && inputs[k].validity.badInput) {
        setFieldError(inputs[k], "A whole number of seconds.");
        inputs[k].focus();
        return;
      }
    }
    await busy(btn, async () => {
      try {
        await call(editing ? "PUT" : "POST", editing ? `${SERVER}/policies/${encodeURIComponent(p.name)}` : `${SERVER}/policies`, body);
        dlg.close();
        toast(`Saved policy ${body.name || p.name}`);
        ctx.refresh();
      } catch (e) {
        showFormError(form, e, (f) => (f === "name" ? name : f.startsWith("algorithm") || f === "bits" ? alg : f === "scheme" ? scheme : inputs[f] || null));
      }
    });
  });
}

export async function policiesPage(ctx) {
  const tools = ctx.caps.admin ? h("div", {class: "toolbar"}, h("button", {type: "button", class: "btn primary", on: {click: () => policyDialog(ctx, null)}}, "Create policy")) : null;
  await page(ctx, "Policies", "Key and signing policies: a zone that names one has its keys rolled by the key manager.", tools, async (body) => {
    const list = await call("GET", `${SERVER}/policies`);
    const cards = h("div", {class: "policy-list"});
    for (const p of list) {
      const actions = ctx.caps.admin ? h("div", {class: "actions left"},
        h("button", {type: "button", class: "btn small", "aria-label": `Edit policy ${p.name}`, on: {click: () => policyDialog(ctx, p)}}, "Edit"),
        h("button", {type: "button", class: "btn small danger", "aria-label": `Delete policy ${p.name}`, on: {click: async () => {
          if (!(await confirmDialog("Delete the policy", h("p", {}, `Delete policy “${p.name}”?`), "Delete"))) return;
          try {
            await call("DELETE", `${SERVER}/policies/${encodeURIComponent(p.name)}`);
            toast(`Deleted ${p.name}`);
            ctx.refresh();
          } catch (e) {
            openDialog("Not deleted", errorBox(e));
          }
        }}}, "Delete")) : null;
      cards.appendChild(h("section", {class: "card policy", "aria-label": `Policy ${p.name}`},
        h("h2", {}, p.name),
        h("p", {}, `${p.algorithm}${p.bits ? ` ${p.bits} bits` : ""}, ${p.scheme === "csk" ? "one CSK" : "KSK + ZSK"}, ${p.nsec3.enabled ? `NSEC3 (${p.nsec3.iterations} iterations${p.nsec3.optOut ? ", opt-out" : ""})` : "NSEC"}`),
        h("dl", {class: "status-grid"}, POLICY_FIELDS.map(([k, label, life]) => h("div", {}, h("dt", {}, label), h("dd", {}, secs(p[k], life))))),
        actions));
    }
    body.appendChild(cards);
  });
}

// ---- webhooks ----

const EVENTS = ["dnssec.rotation_start", "dnssec.rotation_complete", "dnssec.ds_seen", "dnssec.sign_failed"];

function webhookDialog(ctx) {
  const url = h("input", {type: "url", autocomplete: "off", spellcheck: "false", placeholder: "https://hooks.example.com/ensign"});
  const secret = h("input", {type: "password", autocomplete: "new-password"});
  const zone = h("input", {type: "text", autocomplete: "off", spellcheck: "false", placeholder: "every zone"});
  const boxes = EVENTS.map((e) => h("input", {type: "checkbox", id: `ev-${e}`, value: e, checked: true}));
  const btn = h("button", {type: "submit", class: "btn primary"}, "Add webhook");
  const events = h("fieldset", {class: "choice"}, h("legend", {}, "Events"),
    boxes.map((b) => h("div", {class: "checkline"}, b, h("label", {for: b.id}, b.value))));
  const form = h("form", {novalidate: true},
    field("URL", url), field("Secret", secret, "Keys the HMAC-SHA256 signature of each delivery (X-Ensign-Signature)."),
    events, field("Zone", zone, "Only this zone's events; empty for every zone."),
    h("div", {class: "form-alert", tabindex: "-1"}), h("div", {class: "actions"}, btn));
  const dlg = openDialog("Add a webhook", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    const body = {url: url.value.trim(), secret: secret.value, events: chosen.length === EVENTS.length ? null : chosen};
    if (zone.value.trim()) body.zone = zone.value.trim().endsWith(".") ? zone.value.trim() : `${zone.value.trim()}.`;
    await busy(btn, async () => {
      try {
        await call("POST", `${SERVER}/webhooks`, body);
        dlg.close();
        toast("Webhook added");
        ctx.refresh();
      } catch (e) {
        showFormError(form, e, (f) => ({url, secret, zone}[f] || (f.startsWith("events") ? boxes[0] : null)));
      }
    });
  });
}

export async function webhooksPage(ctx) {
  const tools = h("div", {class: "toolbar"}, h("button", {type: "button", class: "btn primary", on: {click: () => webhookDialog(ctx)}}, "Add webhook"));
  await page(ctx, "Webhooks", "Key manager events posted to your endpoints, signed with HMAC-SHA256.", tools, async (body) => {
    const list = await call("GET", `${SERVER}/webhooks`);
    body.appendChild(table("Webhooks", ["Id", "URL", "Events", "Zone", "Created", h("span", {class: "visually-hidden"}, "Actions")],
      list.map((w) => h("tr", {},
        cell("Id", String(w.id)), h("th", {scope: "row", "data-label": "URL", class: "mono break"}, w.url),
        cell("Events", Array.isArray(w.events) ? w.events.join(" ") : h("span", {class: "muted"}, "all")),
        cell("Zone", w.zone || h("span", {class: "muted"}, "all")), cell("Created", timeEl(w.created)),
        h("td", {class: "row-actions"}, h("button", {type: "button", class: "btn small danger", "aria-label": `Delete webhook ${w.id}`, on: {click: async () => {
          if (!(await confirmDialog("Delete the webhook", h("p", {}, `Stop posting to ${w.url}?`), "Delete"))) return;
          try {
            await call("DELETE", `${SERVER}/webhooks/${w.id}`);
            toast("Webhook deleted");
            ctx.refresh();
          } catch (e) {
            openDialog("Not deleted", errorBox(e));
          }
        }}}, "Delete")))), "webhooks"));
  });
}

// ---- audit ----

export async function auditPage(ctx) {
  const params = new URLSearchParams(location.search);
  const zone = h("input", {type: "text", autocomplete: "off", spellcheck: "false", value: params.get("zone") || "", placeholder: "every zone"});
  const limit = select([["50", "50"], ["100", "100"], ["500", "500"], ["2000", "2000"]], params.get("limit") || "100");
  const form = h("form", {class: "filters", novalidate: true}, field("Zone", zone), field("Entries", limit),
    h("div", {class: "actions left"}, h("button", {type: "submit", class: "btn"}, "Show")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (zone.value.trim()) q.set("zone", zone.value.trim().endsWith(".") ? zone.value.trim() : `${zone.value.trim()}.`);
    q.set("limit", limit.value);
    ctx.navigate(`/ui/audit?${q}`);
  });
  await page(ctx, "Audit log", "Every change made through the API, newest first, with the token that made it (0: the administrator key).", form, async (body) => {
    const q = new URLSearchParams();
    if (params.get("zone")) q.set("zone", params.get("zone"));
    q.set("limit", params.get("limit") || "100");
    const list = await call("GET", `/api/v1/audit?${q}`);
    if (!list.length) {
      body.appendChild(h("p", {}, "No entries."));
      return;
    }
    body.appendChild(table("Audit log", ["When (UTC)", "Action", "Zone", "Token", "Detail"],
      list.map((a) => h("tr", {},
        cell("When", timeEl(a.at)), h("th", {scope: "row", "data-label": "Action"}, a.action),
        cell("Zone", a.zone || h("span", {class: "muted"}, "—")), cell("Token", String(a.token_id)),
        cell("Detail", a.detail || h("span", {class: "muted"}, "—")))), "audit"));
  });
}

