// The records of a zone: its RRsets, with add, edit and delete (PATCH .../zones/NAME, the
// API's field errors shown beside the field they name). The types the signer makes are shown
// but cannot be changed here.
import {call, zonePath} from "./api.js";
import {busy, clearFieldErrors, confirmDialog, errorBox, field, h, openDialog, select,
        setFieldError, toast} from "./dom.js";
import {showFormError} from "./zones.js";

export const SIGNER_TYPES = new Set(["DNSKEY", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY"]);

const TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA", "PTR", "DS", "HTTPS", "SVCB",
               "TLSA", "SSHFP", "NAPTR", "DNAME", "LOC", "SOA", "SPF", "URI", "OPENPGPKEY", "SMIMEA"];

const EXAMPLES = {
  A: "192.0.2.1", AAAA: "2001:db8::1", CNAME: "target.example.com.", MX: "10 mail.example.com.",
  TXT: "\"v=spf1 -all\"", NS: "ns1.example.net.", SRV: "10 5 443 host.example.com.",
  CAA: "0 issue \"letsencrypt.org\"", PTR: "host.example.com.", DS: "12345 13 2 ab12…",
  HTTPS: "1 . alpn=h2", TLSA: "3 1 1 ab12…",
};

// The owner name relative to the zone, the zone's part shown faint.
function ownerView(name, zone) {
  if (name === zone) return h("span", {class: "owner"}, h("span", {class: "apex"}, "@"), h("span", {class: "suffix"}, ` ${zone}`));
  if (name.endsWith(`.${zone}`)) {
    return h("span", {class: "owner"}, name.slice(0, -zone.length - 1), h("span", {class: "suffix"}, `.${zone}`));
  }
  return h("span", {class: "owner"}, name);
}

// What the user typed as a name, made absolute in the zone ("" and "@" are the apex).
function absolute(typed, zone) {
  const t = typed.trim();
  if (t === "" || t === "@") return zone;
  if (t.endsWith(".")) return t;
  return `${t}.${zone}`;
}

async function patch(zone, rrsets) {
  return call("PATCH", zonePath(zone.name), {rrsets});
}

// The add or edit dialog. rrset: the one edited, or null to add.
function recordDialog(ctx, zone, rrset, reload) {
  const editing = rrset !== null;
  const name = h("input", {type: "text", autocomplete: "off", spellcheck: "false", placeholder: "www (or @ for the apex)"});
  const typeSel = select(TYPES.map((t) => [t, t]).concat([["", "Other…"]]), editing ? rrset.type : "A");
  const typeOther = h("input", {type: "text", autocomplete: "off", spellcheck: "false", placeholder: "TYPE65534"});
  const otherField = field("Other type", typeOther);
  otherField.hidden = true;
  const ttl = h("input", {type: "number", min: "0", max: "2147483647", step: "1", inputmode: "numeric", value: editing ? String(rrset.ttl) : "3600"});
  const data = h("textarea", {rows: "5", spellcheck: "false", class: "mono"});
  const hint = () => `One record per line, as in a zone file${EXAMPLES[typeSel.value] ? ` (e.g. ${EXAMPLES[typeSel.value]})` : ""}. Text in quotes.`;
  const dataField = field("Data", data, hint());
  typeSel.addEventListener("change", () => {
    otherField.hidden = typeSel.value !== "";
    const p = dataField.querySelector(".hint");
    if (p) p.textContent = hint();
  });
  if (editing) {
    if (!TYPES.includes(rrset.type)) {
      typeSel.value = "";
      typeOther.value = rrset.type;
    }
    data.value = rrset.records.map((r) => r.content).join("\n");
  }
  const btn = h("button", {type: "submit", class: "btn primary"}, editing ? "Save" : "Add");
  const form = h("form", {novalidate: true, class: "record-form"},
    editing ? h("p", {}, h("strong", {}, rrset.name), " ", h("span", {class: "badge"}, rrset.type))
      : [field("Name", name, `Relative to ${zone.name}, or absolute with a final dot.`),
         field("Type", typeSel), otherField],
    field("TTL (seconds)", ttl),
    dataField,
    h("div", {class: "form-alert", tabindex: "-1"}),
    h("div", {class: "actions"}, btn));
  const dlg = openDialog(editing ? `Edit ${rrset.type} records` : "Add records", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const type = editing ? rrset.type : (typeSel.value || typeOther.value.trim().toUpperCase());
    if (!type) {
      setFieldError(typeOther, "Name the type.");
      typeOther.focus();
      return;
    }
    if (SIGNER_TYPES.has(type)) {
      setFieldError(typeSel.value ? typeSel : typeOther, `${type} records are made by the signer: manage keys in the DNSSEC tab.`);
      return;
    }
    const lines = data.value.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    if (lines.length === 0) {
      setFieldError(data, editing ? "Give at least one record (delete the RRset to remove them all)." : "Give at least one record.");
      data.focus();
      return;
    }
    const ttlv = Number(ttl.value);
    const owner = editing ? rrset.name : absolute(name.value, zone.name);
    const change = {name: owner, type, ttl: ttl.value === "" ? ttl.value : (Number.isInteger(ttlv) ? ttlv : ttl.value),
                    changetype: editing ? "REPLACE" : "EXTEND", records: lines.map((content) => ({content, disabled: false}))};
    await busy(btn, async () => {
      try {
        await patch(zone, [change]);
        dlg.close();
        toast(editing ? `Saved ${type} records of ${owner}` : `Added to ${owner} ${type}`);
        reload();
      } catch (e) {
        showFormError(form, e, (f) => {
          let m = /^rrsets\[\d+\]\.records\[(\d+)\]/.exec(f);
          if (m) return {control: data, prefix: `Line ${Number(m[1]) + 1}: `};
          m = /^rrsets\[\d+\]\.(\w+)/.exec(f);
          if (!m) return null;
          if (m[1] === "ttl") return ttl;
          if (m[1] === "name") return editing ? null : name;
          if (m[1] === "type") return editing ? null : (typeSel.value ? typeSel : typeOther);
          return null;
        });
      }
    });
  });
}

async function deleteRRset(zone, rr, reload) {
  const ok = await confirmDialog(`Delete ${rr.type} records`,
    h("p", {}, "Delete every ", h("strong", {}, rr.type), " record of ", h("strong", {}, rr.name), ` (${rr.records.length})?`),
    "Delete");
  if (!ok) return;
  try {
    await patch(zone, [{name: rr.name, type: rr.type, changetype: "DELETE"}]);
    toast(`Deleted ${rr.name} ${rr.type}`);
    reload();
  } catch (e) {
    openDialog("Not deleted", errorBox(e));
  }
}

export async function recordsTab(ctx, zone, body) {
  const reload = () => ctx.refresh();
  const tools = h("div", {class: "toolbar"});
  if (ctx.caps.write) {
    tools.appendChild(h("button", {type: "button", class: "btn primary", on: {click: () => recordDialog(ctx, zone, null, reload)}}, "Add records"));
  }
  const tbody = h("tbody");
  for (const rr of zone.rrsets || []) {
    const managed = SIGNER_TYPES.has(rr.type);
    const recs = h("ul", {class: "rdata"}, rr.records.map((r) =>
      h("li", {class: r.disabled ? "disabled" : null}, h("code", {}, r.content), r.disabled ? h("span", {class: "badge"}, "disabled") : null)));
    let actions;
    if (managed) {
      actions = h("span", {class: "badge managed", title: "Made by the signer from the keys; read-only"}, "signer");
    } else if (ctx.caps.write) {
      actions = [
        h("button", {type: "button", class: "btn small", "aria-label": `Edit ${rr.name} ${rr.type}`, on: {click: () => recordDialog(ctx, zone, rr, reload)}}, "Edit"),
        rr.type === "SOA" ? null : h("button", {type: "button", class: "btn small danger", "aria-label": `Delete ${rr.name} ${rr.type}`, on: {click: () => deleteRRset(zone, rr, reload)}}, "Delete"),
      ];
    } else {
      actions = null;
    }
    tbody.appendChild(h("tr", {class: managed ? "managed" : null, "data-type": rr.type, "data-name": rr.name},
      h("th", {scope: "row", "data-label": "Name"}, ownerView(rr.name, zone.name)),
      h("td", {"data-label": "Type"}, h("span", {class: "badge type"}, rr.type)),
      h("td", {"data-label": "TTL", class: "num"}, String(rr.ttl)),
      h("td", {"data-label": "Data", class: "data-cell"}, recs),
      h("td", {class: "row-actions"}, actions)));
  }
  const count = (zone.rrsets || []).length;
  body.append(
    h("div", {class: "section-head"}, h("h2", {}, "Records"), tools),
    h("p", {class: "muted"}, `${count} RRset${count === 1 ? "" : "s"}. `,
      "DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, CDS and CDNSKEY are made by the signer and shown read-only."),
    h("div", {class: "table-wrap"}, h("table", {class: "data records"},
      h("caption", {class: "visually-hidden"}, `Records of ${zone.name}`),
      h("thead", {}, h("tr", {}, ["Name", "Type", "TTL", "Data", h("span", {class: "visually-hidden"}, "Actions")].map((c) => h("th", {scope: "col"}, c)))),
      tbody)));
}
