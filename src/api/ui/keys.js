// The keys of a signed zone, grouped as the managed platforms do (active: signing; published
// but not signing; retired), with Generate, Activate, Deactivate, Publish, Unpublish and Delete.
// A step the key manager refuses is shown with its reason and the safe order.
import {call, zonePath} from "./api.js";
import {busy, clear, errorBox, field, h, openDialog, select, toast} from "./dom.js";
import {showFormError} from "./zones.js";

const OPERATOR_ALG = {13: "ecdsa-p256", 14: "ecdsa-p384", 15: "ed25519", 16: "ed448"};
const ALG_NAMES = {ECDSAP256SHA256: 13, ECDSAP384SHA384: 14, ED25519: 15, ED448: 16, RSASHA256: 8, RSASHA512: 10};

function algChoiceOf(k) {
  const n = ALG_NAMES[k.algorithm];
  if (OPERATOR_ALG[n]) return OPERATOR_ALG[n];
  if (n === 8) return `rsa-${k.bits || 2048}`;
  return "ecdsa-p256";
}

// The refusal of a key step: reason, safe order (waits as times) and, for those who may
// change the zone, the step done anyway (audited).
export function refusalDialog(title, err, force) {
  const parts = [errorBox(err, err.status === 409 ? {} : {title})];
  let dlg = null;
  if (force && err.status === 409) {
    const ack = h("input", {type: "checkbox", id: "force-ack"});
    const btn = h("button", {type: "button", class: "btn danger", disabled: true}, "Do it anyway");
    ack.addEventListener("change", () => { btn.disabled = !ack.checked; });
    btn.addEventListener("click", () => busy(btn, async () => {
      try {
        await force();
        dlg.close();
      } catch (e) {
        parts[0].replaceWith(errorBox(e, {title: "Not done"}));
      }
    }));
    parts.push(h("details", {class: "force"},
      h("summary", {}, "Do it anyway (not recommended)"),
      h("p", {}, "Forcing skips the check above; the step is recorded as forced in the audit log."),
      h("div", {class: "checkline"}, ack, h("label", {for: "force-ack"}, "I understand validating resolvers may find the zone bogus")),
      h("div", {class: "actions left"}, btn)));
  }
  dlg = openDialog(title, parts);
  return dlg;
}

function keyCard(ctx, zone, k, act) {
  const role = k.keytype.toUpperCase();
  const btn = (label, what, danger) => h("button", {type: "button", class: ["btn", "small", danger ? "danger" : null],
    "aria-label": `${label} ${role} ${k.keyTag}`, "data-action": what, on: {click: (ev) => act(ev.currentTarget, k, what)}}, label);
  const actions = ctx.caps.write ? h("div", {class: "key-actions"},
    k.active ? btn("Deactivate", "deactivate") : btn("Activate", "activate"),
    k.published ? btn("Unpublish", "unpublish") : btn("Publish", "publish"),
    btn("Delete", "delete", true)) : null;
  return h("li", {class: "key", "data-key-id": String(k.id), "data-key-tag": String(k.keyTag), "data-role": k.keytype},
    h("div", {class: "key-head"},
      h("span", {class: ["badge", "role", k.keytype]}, role),
      h("strong", {}, `Key tag ${k.keyTag}`),
      h("span", {class: "muted"}, ` ${k.algorithm}${k.bits ? `, ${k.bits} bits` : ""} · id ${k.id}`)),
    h("div", {class: "key-state"},
      h("span", {class: ["chip", k.published ? "on" : "off"]}, k.published ? "published" : "not published"),
      h("span", {class: ["chip", k.active ? "on" : "off"]}, k.active ? "signing" : "not signing")),
    actions);
}

const STEP = {
  activate: ["PUT", {active: true}, "Activate"],
  deactivate: ["PUT", {active: false}, "Deactivate"],
  publish: ["PUT", {published: true}, "Publish"],
  unpublish: ["PUT", {published: false}, "Unpublish"],
  delete: ["DELETE", undefined, "Delete"],
};

function generateDialog(ctx, zone, keys, done) {
  const roles = keys.some((k) => k.keytype === "ksk") ? "zsk" : "csk";
  const role = select([["csk", "CSK (signs everything)"], ["ksk", "KSK (signs the DNSKEY RRset)"], ["zsk", "ZSK (signs the data)"]], roles);
  const like = keys.find((k) => k.active) || keys[0];
  const alg = select([["ecdsa-p256", "ECDSA P-256 (13)"], ["ecdsa-p384", "ECDSA P-384 (14)"], ["ed25519", "Ed25519 (15)"], ["ed448", "Ed448 (16)"],
                      ["rsa-2048", "RSA/SHA-256 2048 (8)"], ["rsa-3072", "RSA/SHA-256 3072 (8)"], ["rsa-4096", "RSA/SHA-256 4096 (8)"]],
                     like ? algChoiceOf(like) : "ecdsa-p256");
  const pub = h("input", {type: "checkbox", id: "gen-pub", checked: true});
  const active = h("input", {type: "checkbox", id: "gen-act"});
  const btn = h("button", {type: "submit", class: "btn primary"}, "Generate");
  const form = h("form", {novalidate: true},
    field("Role", role), field("Algorithm", alg),
    h("div", {class: "checkline"}, pub, h("label", {for: "gen-pub"}, "Publish its DNSKEY now")),
    h("div", {class: "checkline"}, active, h("label", {for: "gen-act"}, "Let it sign now")),
    h("p", {class: "hint"}, "Usually: publish now, activate once the DNSKEY TTL and propagation have passed (the key manager says when)."),
    h("div", {class: "form-alert", tabindex: "-1"}),
    h("div", {class: "actions"}, btn));
  const dlg = openDialog("Generate a key", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await busy(btn, async () => {
      try {
        const k = await call("POST", `${zonePath(zone.name)}/cryptokeys`, {keytype: role.value, algorithm: alg.value, published: pub.checked, active: active.checked});
        dlg.close();
        toast(`Generated ${k.keytype.toUpperCase()} ${k.keyTag}`);
        done();
      } catch (e) {
        showFormError(form, e, (f) => (f.startsWith("keytype") ? role : f.startsWith("algorithm") ? alg : null));
      }
    });
  });
}

export async function keysSection(ctx, zone, st, box, changed) {
  const list = h("div", {class: "key-groups"});
  const tools = h("div", {class: "toolbar"});
  let keys = [];
  const reload = async () => {
    try {
      keys = await call("GET", `${zonePath(zone.name)}/cryptokeys`);
    } catch (e) {
      clear(list).appendChild(errorBox(e, {title: "The keys cannot be listed"}));
      return;
    }
    draw();
  };
  const act = (button, k, what) => busy(button, async () => {
    const [method, body, label] = STEP[what];
    const path = `${zonePath(zone.name)}/cryptokeys/${k.id}`;
    const title = `${label} ${k.keytype.toUpperCase()} ${k.keyTag}`;
    try {
      await call(method, path, body);
      toast(`${title}: done`);
    } catch (e) {
      refusalDialog(e.status === 409 ? `Refused: ${title}` : `Failed: ${title}`, e, ctx.caps.write ? async () => {
        await call(method, `${path}?force=true`, body);
        toast(`${title}: forced`);
        await reload();
        await changed();
      } : null);
      return;
    }
    await reload();
    await changed();
  });
  const draw = () => {
    clear(list);
    const groups = [
      ["Active: signing", keys.filter((k) => k.active), "active"],
      ["Published: not signing", keys.filter((k) => k.published && !k.active), "published"],
      ["Retired: not published", keys.filter((k) => !k.published && !k.active), "retired"],
    ];
    for (const [title, ks, id] of groups) {
      list.appendChild(h("div", {class: "key-group", id: `keys-${id}`},
        h("h4", {}, title, h("span", {class: "count"}, ` (${ks.length})`)),
        ks.length ? h("ul", {class: "keys"}, ks.map((k) => keyCard(ctx, zone, k, act))) : h("p", {class: "muted"}, "none")));
    }
  };
  if (ctx.caps.write) {
    tools.appendChild(h("button", {type: "button", class: "btn primary", id: "generate-key",
      on: {click: () => generateDialog(ctx, zone, keys, async () => { await reload(); await changed(); })}}, "Generate key"));
  }
  box.appendChild(h("section", {class: "card keys-card", id: "keys", "aria-labelledby": "keys-h"},
    h("div", {class: "section-head"}, h("h3", {id: "keys-h"}, "Keys"), tools), list));
  await reload();
}
