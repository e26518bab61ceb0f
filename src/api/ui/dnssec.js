// The DNSSEC panel of a zone: enable (algorithm, CSK or KSK+ZSK, NSEC3 or NSEC, policy), every
// status field, the DS records and DNSKEYs to give the parent (each with a copy button), the DS
// check at the parent's servers, the rollover and what it waits on, the keys, the year's
// timeline, and turning DNSSEC off the safe way (with the live state of the wait).
import {call, SERVER, zonePath} from "./api.js";
import {busy, clear, clearFieldErrors, copyButton, errorBox, explained, field, h, openDialog,
        relative, select, timeEl, toast, utc} from "./dom.js";
import {showFormError} from "./zones.js";
import {keysSection} from "./keys.js";
import {timelineSection} from "./timeline.js";

export const ALGORITHMS = {
  5: "RSASHA1", 7: "RSASHA1-NSEC3-SHA1", 8: "RSASHA256", 10: "RSASHA512", 13: "ECDSAP256SHA256",
  14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448",
};

export const ALG_CHOICES = [
  ["ecdsa-p256", "ECDSA P-256 / SHA-256 (13), recommended"],
  ["ecdsa-p384", "ECDSA P-384 / SHA-384 (14)"],
  ["ed25519", "Ed25519 (15)"],
  ["ed448", "Ed448 (16)"],
  ["rsa-2048", "RSA/SHA-256, 2048 bits (8)"],
  ["rsa-3072", "RSA/SHA-256, 3072 bits (8)"],
  ["rsa-4096", "RSA/SHA-256, 4096 bits (8)"],
];

const WAITING = {
  "awaiting-ds": "the parent to serve the new DS",
  "awaiting-ds-removal": "the parent to remove the old DS",
  "ds-removal": "the DS to be removed at the parent",
  "ttl-hold": "cached copies to expire",
};

function item(label, value, cls) {
  return h("div", {class: cls}, h("dt", {}, label), h("dd", {}, value));
}

function algName(n) {
  return ALGORITHMS[n] ? `${n} (${ALGORITHMS[n]})` : String(n);
}

// ---- enabling ----

async function enableForm(ctx, zone, body) {
  let policies = [];
  try {
    policies = await call("GET", `${SERVER}/policies`);
  } catch {
    policies = [];
  }
  const alg = select(ALG_CHOICES, "ecdsa-p256", {name: "algorithm"});
  const radio = (name, value, label, checked) => {
    const id = `${name}-${value.replace(/\W/g, "")}`;
    return h("div", {class: "radio"}, h("input", {type: "radio", name, value, id, checked}), h("label", {for: id}, label));
  };
  const scheme = h("fieldset", {class: "choice"}, h("legend", {}, "Keys"),
    radio("scheme", "csk", "One key (CSK) signs everything", true),
    radio("scheme", "ksk+zsk", "Two keys: a KSK for the DNSKEY RRset, a ZSK for the data", false));
  const denial = h("fieldset", {class: "choice"}, h("legend", {}, "Proof of non-existence"),
    radio("denial", "nsec3", "NSEC3 (hashed names)", true),
    radio("denial", "nsec", "NSEC", false));
  const iterations = h("input", {type: "number", min: "0", max: "100", value: "0", inputmode: "numeric"});
  const salt = h("input", {type: "text", value: "", autocomplete: "off", spellcheck: "false", placeholder: "none"});
  const optOut = h("input", {type: "checkbox", id: "nsec3-optout"});
  const nsec3Box = h("fieldset", {class: "sub"}, h("legend", {}, "NSEC3 parameters (RFC 9276: no salt, 0 extra iterations)"),
    h("div", {class: "row"}, field("Extra iterations", iterations), field("Salt (hex)", salt)),
    h("div", {class: "checkline"}, optOut, h("label", {for: "nsec3-optout"}, "Opt-out (skip unsigned delegations)")));
  const policy = select([["", "None: keys are managed by hand"]].concat(policies.map((p) => [p.name, `${p.name} (${p.algorithm}, ${p.scheme})`])), "", {name: "policy"});
  const parents = h("input", {type: "text", autocomplete: "off", spellcheck: "false", placeholder: "192.0.2.53 198.51.100.53:5353"});
  const own = h("fieldset", {class: "own"}, field("Algorithm", alg), scheme, denial, nsec3Box);
  const syncDenial = () => {
    nsec3Box.hidden = denial.querySelector("input:checked").value !== "nsec3";
  };
  denial.addEventListener("change", syncDenial);
  policy.addEventListener("change", () => {
    own.disabled = policy.value !== "";
    own.classList.toggle("from-policy", policy.value !== "");
  });
  const btn = h("button", {type: "submit", class: "btn primary"}, "Enable DNSSEC");
  const form = h("form", {class: "card enable", novalidate: true},
    h("h2", {}, "Enable DNSSEC"),
    h("p", {}, "The zone is signed at once; the DNSKEYs are published before you are shown the DS to give the parent, so the chain never breaks."),
    field("Policy", policy, "A policy runs the keys by itself (rollovers, CDS). Its algorithm, keys and NSEC3 settings apply."),
    own,
    field("Parent's servers (optional)", parents, "ADDR[:PORT], separated by spaces: where the DS probe asks. Empty: looked up from the root when the server has root hints."),
    h("p", {class: "muted"}, "Keys are kept in the server's key directory (PEM files, mode 0600)."),
    h("div", {class: "form-alert", tabindex: "-1"}),
    h("div", {class: "actions"}, btn));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const req = {enabled: true};
    if (policy.value) {
      req.policy = policy.value;
    } else {
      req.algorithm = alg.value;
      req.scheme = scheme.querySelector("input:checked").value;
      req.denial = denial.querySelector("input:checked").value;
      if (req.denial === "nsec3") {
        req.nsec3 = {iterations: iterations.value === "" ? -1 : Number(iterations.value), salt: salt.value.trim() || "-", optOut: optOut.checked};
      }
    }
    const ps = parents.value.split(/[\s,]+/).filter(Boolean);
    if (ps.length) req.parentServers = ps;
    await busy(btn, async () => {
      try {
        await call("PUT", `${zonePath(zone.name)}/dnssec`, req);
        toast(`DNSSEC is on for ${zone.name}`);
        ctx.refresh();
      } catch (e) {
        showFormError(form, e, (f) => (f.startsWith("algorithm") ? alg : f.startsWith("nsec3.iterations") ? iterations
          : f.startsWith("nsec3.salt") ? salt : f.startsWith("policy") ? policy
          : f.startsWith("parentServers") ? parents : null));
      }
    });
  });
  body.appendChild(form);
}

// ---- turning off ----

function disableDialog(ctx, zone, st) {
  const btn = h("button", {type: "button", class: "btn danger"}, "Turn DNSSEC off");
  const cancel = h("button", {type: "button", class: "btn"}, "Cancel");
  const alertPlace = h("div", {class: "form-alert", tabindex: "-1"});
  const ds = st.dsRecords || [];
  const content = [
    h("p", {}, "DNSSEC is turned off the safe way, in this order:"),
    h("ol", {class: "steps"},
      h("li", {}, "ensign publishes the delete CDS and CDNSKEY (RFC 8078), which registrars that read CDS follow by themselves."),
      h("li", {}, h("strong", {}, "You remove the DS records of this zone at your registrar"), " (or ask the parent's operator to):",
        ds.length ? h("ul", {class: "mono-list"}, ds.map((d) => h("li", {}, h("code", {}, d.record)))) : null),
      h("li", {}, "ensign keeps signing until every parent server has dropped the DS and the parent's DS TTL has passed, so no resolver holding the old DS sees unsigned answers."),
      h("li", {}, "Then the zone is served unsigned.")),
    h("p", {}, st.dsDelegated ? "The DS is at the parent now: this takes until the parent removes it."
      : "No DS was seen at the parent: if none is there (and none was recently), signing stops at once."),
    alertPlace,
    h("div", {class: "actions"}, cancel, btn),
  ];
  const dlg = openDialog("Turn DNSSEC off", content);
  cancel.addEventListener("click", () => dlg.close());
  cancel.focus();
  btn.addEventListener("click", () => busy(btn, async () => {
    try {
      const res = await call("PUT", `${zonePath(zone.name)}/dnssec`, {enabled: false}, {full: true});
      dlg.close();
      toast(res.status === 202 ? "Turning off: waiting for the parent" : "DNSSEC is off");
      ctx.refresh();
    } catch (e) {
      clear(alertPlace).appendChild(errorBox(e));
      alertPlace.focus();
    }
  }));
}

// ---- status ----

function statusList(zone, st) {
  const parentList = (st.parentServers || []).length ? h("span", {class: "mono"}, st.parentServers.join(" "))
    : st.parentLookup ? h("span", {}, st.parentLookup.error ? `not found: ${st.parentLookup.error}`
      : `${st.parentLookup.zone} (looked up): `, h("span", {class: "mono"}, (st.parentLookup.servers || []).join(" ")))
      : h("span", {class: "muted"}, "none configured");
  return h("dl", {class: "status-grid", id: "dnssec-status"},
    item("Enabled", h("span", {"data-field": "enabled"}, st.enabled ? "Yes" : "No")),
    item("DS at the parent", h("span", {"data-field": "dsDelegated", class: st.dsDelegated ? "yes" : "no"}, st.dsDelegated ? "Yes" : "No")),
    item("Last signed", h("span", {"data-field": "lastSignedAt"}, timeEl(st.lastSignedAt), st.lastSignedAt ? ` (${relative(st.lastSignedAt)})` : "")),
    item("Last signing error", st.lastSignError ? h("span", {class: "bad", "data-field": "lastSignError"}, st.lastSignError)
      : h("span", {class: "muted", "data-field": "lastSignError"}, "none"), st.lastSignError ? "wide" : null),
    item("Next DS probe", h("span", {"data-field": "nextDsProbeAt"}, timeEl(st.nextDsProbeAt, {local: true, none: "not planned"}))),
    item("Earliest signature expiry", h("span", {"data-field": "rrsigEarliestExpiry"}, timeEl(st.rrsigEarliestExpiry, {local: true, rel: true}))),
    item("Policy", h("span", {"data-field": "policy"}, st.policy || h("span", {class: "muted"}, "none (keys by hand)"))),
    item("DS records", h("span", {"data-field": "dsRecords"}, String((st.dsRecords || []).length))),
    item("Parent's servers", parentList, "wide"));
}

function rolloverView(st) {
  const r = st.rollover;
  if (!r) return null;
  const waiting = r.waitingOn ? (WAITING[r.waitingOn] || r.waitingOn) : null;
  return h("div", {class: "card rollover", id: "rollover"},
    h("h3", {}, "Key manager"),
    h("dl", {class: "status-grid"},
      item("Rollover", r.kind === "none" ? "none under way" : `${r.kind.toUpperCase()} rollover`),
      item("Phase", h("span", {"data-field": "phase"}, r.phase)),
      item("Waiting on", waiting ? h("span", {"data-field": "waitingOn"}, waiting) : h("span", {class: "muted"}, "nothing")),
      item("Next step", timeEl(r.nextEventAt, {local: true, rel: true, none: "none planned"})),
      r.actionsDue && r.actionsDue.length ? item("Due now", r.actionsDue.join(", ")) : null),
    r.message ? h("p", {class: "message"}, explained(r.message)) : null);
}

// The turning-off state: what the operator must do, and where the wait stands.
function disablingView(ctx, zone, st, redraw) {
  const r = st.rollover;
  if (!r || r.phase !== "disable") return null;
  const stateText = r.waitingOn === "ds-removal"
    ? "Waiting for the parent to remove the DS. The delete CDS/CDNSKEY is published; signing goes on meanwhile."
    : r.waitingOn === "ttl-hold" ? "The DS is gone from the parent. Signing goes on until resolvers' cached copies of it expire."
      : "Finishing: signing stops now.";
  const checkBtn = h("button", {type: "button", class: "btn"}, "Check the parent now");
  checkBtn.addEventListener("click", () => busy(checkBtn, async () => {
    try {
      await call("POST", `${zonePath(zone.name)}/dnssec/check-ds`);
    } catch (e) {
      toast(e.message);
    }
    await redraw();
  }));
  // the operator's word that the DS is gone (when ensign cannot see the parent, the only way on)
  const doneBtn = h("button", {type: "button", class: "btn"}, "I removed the DS at the registrar");
  doneBtn.addEventListener("click", () => busy(doneBtn, async () => {
    try {
      await call("POST", `${zonePath(zone.name)}/dnssec/ds-withdrawn`);
    } catch (e) {
      toast(e.message);
    }
    await redraw();
  }));
  return h("div", {class: "alert warn disabling", id: "disabling", role: "status"},
    h("h3", {}, "Turning DNSSEC off: waiting"),
    h("p", {"data-field": "disable-state"}, stateText),
    r.waitingOn === "ds-removal" && (st.dsRecords || []).length
      ? [h("p", {}, h("strong", {}, "At your registrar: "), "remove these DS records of ", zone.name, ":"),
         h("ul", {class: "mono-list"}, st.dsRecords.map((d) => h("li", {}, h("code", {}, d.record))))]
      : null,
    h("dl", {class: "status-grid"},
      item("DS at the parent", st.dsDelegated ? "still there" : "not seen"),
      item("Next check of the parent", timeEl(st.nextDsProbeAt, {local: true, rel: true, none: "not planned"})),
      item("Next step", timeEl(r.nextEventAt, {local: true, rel: true, none: "when the parent changes"}))),
    r.message ? h("p", {class: "message"}, explained(r.message)) : null,
    ctx.caps.write
      ? h("div", {class: "actions"}, checkBtn, r.waitingOn === "ds-removal" ? doneBtn : null)
      : null);
}

// ---- what the parent needs ----

// One field of a DS or DNSKEY: its value (and a name for a number), with a copy button.
function part(label, value, note, copyLabel, wide) {
  return h("div", {class: wide ? "wide" : null}, h("dt", {}, label),
    h("dd", {}, h("span", {class: "v"}, h("code", {class: wide ? "digest" : null}, value),
                  note ? h("span", {class: "muted note"}, note) : null),
      copyButton(value, copyLabel)));
}

function dsView(st) {
  const ds = st.dsRecords || [];
  const dnskeys = (st.keys || []).filter((k) => k.flags === 257 && k.active);
  const wrap = h("section", {class: "card parent-data", id: "ds-records", "aria-labelledby": "ds-h"},
    h("h3", {id: "ds-h"}, "DS records for the parent"),
    h("p", {class: "muted"}, "Give your registrar these DS records (or the DNSKEY below, if it takes keys). SHA-256 (digest type 2) is what registrars expect."));
  if (!ds.length) wrap.appendChild(h("p", {}, "No DS yet: no active key-signing key."));
  for (const d of ds) {
    const of = `DS ${d.keyTag} ${d.digestTypeName}`;
    wrap.appendChild(h("div", {class: "ds", "data-record": d.record},
      h("div", {class: "one-line"}, h("code", {class: "ds-record"}, d.record), copyButton(d.record, `Copy ${of} as one line`)),
      h("dl", {class: "fields"},
        part("Key tag", String(d.keyTag), null, `Copy key tag of ${of}`),
        part("Algorithm", String(d.algorithm), ALGORITHMS[d.algorithm], `Copy algorithm of ${of}`),
        part("Digest type", String(d.digestType), d.digestTypeName, `Copy digest type of ${of}`),
        part("Digest", d.digest, null, `Copy digest of ${of}`, true))));
  }
  if (dnskeys.length) {
    wrap.appendChild(h("h3", {}, "DNSKEY for registrars that take keys"));
    for (const k of dnskeys) {
      const line = `${k.flags} 3 ${k.algorithm} ${k.publicKey}`;
      const of = `DNSKEY ${k.keyTag}`;
      wrap.appendChild(h("div", {class: "ds dnskey", "data-record": line},
        h("div", {class: "one-line"}, h("code", {class: "ds-record"}, line), copyButton(line, `Copy ${of} as one line`)),
        h("dl", {class: "fields"},
          part("Flags", String(k.flags), k.flags === 257 ? "SEP" : null, `Copy flags of ${of}`),
          part("Protocol", "3", null, `Copy protocol of ${of}`),
          part("Algorithm", String(k.algorithm), ALGORITHMS[k.algorithm], `Copy algorithm of ${of}`),
          part("Public key", k.publicKey, null, `Copy public key of ${of}`, true))));
    }
  }
  return wrap;
}

function checkResult(res) {
  const rows = (res.servers || []).map((s) => h("tr", {},
    h("th", {scope: "row", "data-label": "Server", class: "mono"}, s.server),
    h("td", {"data-label": "Answer"}, h("span", {class: ["badge", s.status === "ok" ? "ok" : "bad"]}, s.status), s.error ? h("div", {class: "muted"}, s.error) : null),
    ...[["DS seen", s.seen], ["Missing", s.missing], ["Stale", s.stale]].map(([label, list]) => h("td", {"data-label": label},
      list && list.length ? h("ul", {class: "mono-list"}, list.map((x) => h("li", {}, h("code", {}, x)))) : h("span", {class: "muted"}, "none")))));
  return h("div", {class: "check-result", id: "check-result"},
    h("p", {}, `Checked at ${utc(new Date())}: `, h("strong", {}, res.dsDelegated ? "the DS is at the parent" : "the DS is not (yet) at every parent server"),
      res.inSync ? " · every server agrees" : " · the servers do not all give our DS set"),
    h("div", {class: "table-wrap"}, h("table", {class: "data probe"},
      h("caption", {class: "visually-hidden"}, "What each parent server gives"),
      h("thead", {}, h("tr", {}, ["Server", "Answer", "DS seen", "Missing", "Stale"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, rows))));
}

function parentSection(ctx, zone, st, redraw) {
  const out = h("div", {class: "check-out", "aria-live": "polite"});
  const btn = h("button", {type: "button", class: "btn primary", id: "check-ds"}, "Check DS at the parent");
  btn.addEventListener("click", () => busy(btn, async () => {
    clear(out);
    try {
      const res = await call("POST", `${zonePath(zone.name)}/dnssec/check-ds`);
      out.appendChild(checkResult(res));
    } catch (e) {
      out.appendChild(errorBox(e, {title: "No check"}));
    }
    await redraw();
  }));
  const sec = h("section", {class: "card", id: "parent-check", "aria-labelledby": "pc-h"},
    h("h3", {id: "pc-h"}, "The parent"),
    h("p", {class: "muted"}, "Asks each of the parent's servers for this zone's DS now, and compares with the keys. A change at the parent counts once two checks in a row see it."),
    ctx.caps.write ? h("div", {class: "actions left"}, btn)
      : h("p", {}, "Checking now needs an update token; the key manager checks by itself (next: ", timeEl(st.nextDsProbeAt, {none: "not planned"}), ")."),
    out);
  if (ctx.caps.write) sec.appendChild(parentServersForm(ctx, zone, st));
  return sec;
}

// Setting the parent's servers restates the zone's DNSSEC settings as they are (a PUT says the
// whole wanted state).
function parentServersForm(ctx, zone, st) {
  const input = h("input", {type: "text", autocomplete: "off", spellcheck: "false", value: (st.parentServers || []).join(" "), placeholder: "ADDR[:PORT] ..."});
  const btn = h("button", {type: "submit", class: "btn"}, "Save");
  const form = h("form", {class: "inline-form", novalidate: true},
    field("Parent's servers", input, "Where the DS probe asks, ADDR[:PORT] separated by spaces; empty: looked up from the root (with --root-hints)."),
    h("div", {class: "form-alert", tabindex: "-1"}), h("div", {class: "actions left"}, btn));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const req = {enabled: true, parentServers: input.value.split(/[\s,]+/).filter(Boolean)};
    if (st.policy) req.policy = st.policy;
    const p = (zone.nsec3param || "").split(" ");
    if (zone.nsec3param) {
      req.denial = "nsec3";
      req.nsec3 = {optOut: p[1] === "1", iterations: Number(p[2]), salt: p[3] || "-"};
    } else {
      req.denial = "nsec";
    }
    await busy(btn, async () => {
      try {
        await call("PUT", `${zonePath(zone.name)}/dnssec`, req);
        toast("Saved the parent's servers");
        ctx.refresh();
      } catch (e) {
        showFormError(form, e, (f) => (f.startsWith("parentServers") ? input : null));
      }
    });
  });
  return form;
}

export async function dnssecTab(ctx, zone, st, body) {
  if (!zone.dnssec) {
    body.appendChild(h("h2", {}, "DNSSEC is off"));
    body.appendChild(h("p", {}, "This zone is served unsigned."));
    if (st === null) {
      try {
        st = await call("GET", `${zonePath(zone.name)}/dnssec`);
      } catch {
        st = null;
      }
    }
    if (st) body.appendChild(statusList(zone, st));
    if (ctx.caps.write) await enableForm(ctx, zone, body);
    return;
  }
  const statusBox = h("div");
  const liveNote = h("p", {class: "muted live-note"});
  let timer = 0;
  const draw = (cur) => {
    clear(statusBox).append(disablingView(ctx, zone, cur, redraw) || "", statusList(zone, cur), rolloverView(cur) || "", dsView(cur));
    liveNote.textContent = `Status as of ${utc(new Date())}.`;
    const waiting = cur.rollover && (cur.rollover.phase === "disable" || cur.rollover.waitingOn);
    clearTimeout(timer);
    if (waiting && cur.enabled) {
      liveNote.textContent += " Refreshed every 5 s while something is awaited.";
      timer = setTimeout(() => (ctx.current() && document.contains(statusBox) ? redraw() : null), 5000);
    }
    if (!cur.enabled) {
      ctx.refresh(); // the wait is over: the zone is unsigned now
    }
  };
  const redraw = async () => {
    try {
      const cur = await call("GET", `${zonePath(zone.name)}/dnssec`);
      if (ctx.current() && document.contains(statusBox)) draw(cur);
    } catch (e) {
      liveNote.textContent = `Status not refreshed: ${e.message}`;
    }
  };
  const keysBox = h("div");
  const timelineBox = h("div");
  body.append(h("h2", {}, "Status"), liveNote, statusBox, parentSection(ctx, zone, st, redraw), keysBox, timelineBox);
  draw(st);
  let timeline = async () => {};
  await keysSection(ctx, zone, st, keysBox, async () => {
    await redraw();
    await timeline();
  });
  timeline = await timelineSection(ctx, zone, timelineBox);
  if (ctx.caps.write && !(st.rollover && st.rollover.phase === "disable")) {
    body.appendChild(h("section", {class: "card danger-zone", "aria-labelledby": "off-h"},
      h("h3", {id: "off-h"}, "Turn DNSSEC off"),
      h("p", {}, "Done the safe way: the DS must leave the parent first, and signing goes on until it has."),
      h("div", {class: "actions left"}, h("button", {type: "button", class: "btn danger", id: "disable-dnssec", on: {click: () => disableDialog(ctx, zone, st)}}, "Turn DNSSEC off…"))));
  }
}
