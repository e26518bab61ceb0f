// The zones: the list (with each signed zone's DNSSEC state), create, import, export, delete.
import {call, ZONES, zoneId, zonePath} from "./api.js";
import {busy, clear, clearFieldErrors, errorBox, field, fieldOf, h, icon, openDialog, select,
        setFieldError, timeEl, toast} from "./dom.js";

// The DNSSEC state of a zone as a shield and words. st: the status (GET .../dnssec) or null
// while it is not known; signed: the zone's own flag.
export function shield(signed, st) {
  if (!signed) return h("span", {class: "state off"}, icon("shield-off"), "Unsigned");
  if (st && st.lastSignError) return h("span", {class: "state bad"}, icon("shield-alert"), "Signing failed");
  if (st && st.rollover && st.rollover.phase === "disable") {
    return h("span", {class: "state warn"}, icon("shield-alert"), "Turning off");
  }
  if (st && st.dsDelegated) return h("span", {class: "state good"}, icon("shield-check"), "Signed, secure");
  return h("span", {class: "state signed"}, icon("shield"), "Signed");
}

function yesNo(v) {
  return v ? h("span", {class: "yes"}, "Yes") : h("span", {class: "no"}, "No");
}

// Shows the API's error for a form: beside the field it names when there is one, else in the
// form's alert place.
export function showFormError(form, err, controls) {
  clearFieldErrors(form);
  const place = form.querySelector(".form-alert");
  if (place) clear(place);
  const list = err.body && Array.isArray(err.body.errors) && err.body.errors.length
    ? err.body.errors : [fieldOf(err.message) || {field: err.body && err.body.field, error: err.message}];
  let shown = false;
  let first = null;
  for (const raw of list) {
    // "field: sentence" in the error of a named field says the field twice
    const e = raw && raw.field && raw.error && raw.error.startsWith(`${raw.field}: `)
      ? {field: raw.field, error: raw.error.slice(raw.field.length + 2)} : raw;
    const target = e && e.field ? controls(e.field) : null;
    if (target) {
      setFieldError(target.control || target, target.prefix ? `${target.prefix}${e.error}` : e.error);
      first = first || target.control || target;
      shown = true;
    }
  }
  if (!shown && place) place.appendChild(errorBox(err));
  if (first) first.focus();
  else if (place) place.focus();
}

export async function exportZone(name) {
  const text = await call("GET", `${zonePath(name)}/export`);
  const blob = new Blob([text], {type: "text/plain"});
  const url = URL.createObjectURL(blob);
  const a = h("a", {href: url, download: `${name}zone`, class: "offscreen"}, "download");
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast(`Exported ${name}`);
}

// The delete dialog: the zone's name typed again; a refusal (409) is shown with its reason and
// safe order.
export function deleteZone(name, after) {
  const input = h("input", {type: "text", autocomplete: "off", spellcheck: "false"});
  const btn = h("button", {type: "submit", class: "btn danger"}, "Delete the zone");
  const form = h("form", {novalidate: true},
    h("p", {}, "This deletes ", h("strong", {}, name), ", its records and its keys from this server. Resolvers stop getting answers for it. If a DS for it is at the parent, remove that first."),
    field(`Type ${name} to confirm`, input),
    h("div", {class: "form-alert", tabindex: "-1"}),
    h("div", {class: "actions"}, btn));
  const dlg = openDialog(`Delete ${name}`, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const typed = input.value.trim();
    if (typed !== name && `${typed}.` !== name) {
      setFieldError(input, `Type the name exactly: ${name}`);
      input.focus();
      return;
    }
    await busy(btn, async () => {
      try {
        await call("DELETE", zonePath(name));
        dlg.close();
        toast(`Deleted ${name}`);
        after();
      } catch (e) {
        showFormError(form, e, () => null);
      }
    });
  });
}

function createDialog(ctx, imported) {
  const name = h("input", {type: "text", name: "name", autocomplete: "off", spellcheck: "false", placeholder: "example.com."});
  const kind = select([["Native", "Native"], ["Master", "Master (primary with secondaries)"]], "Native", {name: "kind"});
  const ns = h("input", {type: "text", name: "nameservers", autocomplete: "off", spellcheck: "false", placeholder: "ns1.example.net. ns2.example.net."});
  const text = h("textarea", {name: "zone", rows: "10", spellcheck: "false", class: "mono", wrap: "off"});
  const file = h("input", {type: "file", name: "file", accept: ".zone,.txt,.db,text/plain"});
  file.addEventListener("change", async () => {
    if (file.files && file.files[0]) {
      text.value = await file.files[0].text();
      if (!name.value) {
        const m = /^\$ORIGIN\s+(\S+)/m.exec(text.value);
        if (m) name.value = m[1];
      }
    }
  });
  const btn = h("button", {type: "submit", class: "btn primary"}, imported ? "Import" : "Create");
  const form = h("form", {novalidate: true},
    field("Zone name", name, "With or without the final dot."),
    field("Kind", kind),
    imported ? [field("Zone file", file, "Read in this browser; its text goes below."),
                field("Zone file text", text, "As BIND, Knot and NSD read it ($INCLUDE is not allowed).")]
      : field("Name servers", ns, "The NS records of the apex, separated by spaces."),
    h("div", {class: "form-alert", tabindex: "-1"}),
    h("div", {class: "actions"}, btn));
  const dlg = openDialog(imported ? "Import a zone file" : "Create a zone", form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    let zone = name.value.trim();
    if (!zone) {
      setFieldError(name, "A zone name is required.");
      name.focus();
      return;
    }
    if (!zone.endsWith(".")) zone += ".";
    const body = {name: zone, kind: kind.value};
    if (imported) {
      body.zone = text.value;
    } else {
      body.nameservers = ns.value.split(/[\s,]+/).filter(Boolean).map((n) => (n.endsWith(".") ? n : `${n}.`));
    }
    await busy(btn, async () => {
      try {
        await call("POST", ZONES, body);
        dlg.close();
        toast(`${imported ? "Imported" : "Created"} ${zone}`);
        ctx.navigate(`/ui/zones/${zoneId(zone)}`);
      } catch (e) {
        showFormError(form, e, (f) => (f.startsWith("name") ? name
          : f.startsWith("nameservers") ? ns : f.startsWith("kind") ? kind
          : f.startsWith("zone") || f.startsWith("rrsets") || /^[^\s]+:\d+/.test(f) ? (imported ? text : null) : null));
      }
    });
  });
}

async function fillDnssec(row, z) {
  const [stateCell, dsCell, expCell] = row;
  try {
    const st = await call("GET", `${zonePath(z.name)}/dnssec`);
    clear(stateCell).appendChild(shield(true, st));
    clear(dsCell).appendChild(yesNo(st.dsDelegated));
    clear(expCell).appendChild(timeEl(st.rrsigEarliestExpiry));
  } catch (e) {
    clear(stateCell).appendChild(shield(true, null));
    clear(dsCell).appendChild(h("span", {class: "muted", title: e.message}, "?"));
  }
}

// Runs fns at most n at a time.
async function limited(fns, n) {
  const queue = fns.slice();
  const workers = Array.from({length: Math.min(n, queue.length)}, async () => {
    while (queue.length) await queue.shift()();
  });
  await Promise.all(workers);
}

export async function zonesPage(ctx) {
  const m = ctx.main;
  document.title = "Zones · ensign";
  const tools = h("div", {class: "toolbar"});
  if (ctx.caps.write) {
    tools.appendChild(h("button", {type: "button", class: "btn primary", on: {click: () => createDialog(ctx, false)}}, "Create zone"));
    tools.appendChild(h("button", {type: "button", class: "btn", on: {click: () => createDialog(ctx, true)}}, "Import zone file"));
  }
  const filter = h("input", {type: "search", placeholder: "Filter by name", autocomplete: "off"});
  const filterField = h("div", {class: "filter"}, h("label", {for: "zone-filter", class: "visually-hidden"}, "Filter zones by name"), filter);
  filter.id = "zone-filter";
  tools.appendChild(filterField);
  const tbody = h("tbody");
  const table = h("table", {class: "data zones"},
    h("caption", {class: "visually-hidden"}, "Zones on this server"),
    h("thead", {}, h("tr", {}, ["Zone", "Kind", "Serial", "DNSSEC", "DS at parent", "Earliest signature expiry", h("span", {class: "visually-hidden"}, "Actions")]
      .map((c) => h("th", {scope: "col"}, c)))),
    tbody);
  const more = h("div", {class: "more"});
  const status = h("p", {class: "muted", role: "status"}, "Loading…");
  m.append(h("div", {class: "page-head"}, h("h1", {}, "Zones"), tools), status, h("div", {class: "table-wrap"}, table), more);
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const tr of tbody.rows) tr.hidden = q !== "" && !tr.dataset.name.toLowerCase().includes(q);
  });

  let count = 0;
  const load = async (cursor) => {
    let res;
    try {
      res = await call("GET", `${ZONES}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, undefined, {full: true});
    } catch (e) {
      clear(status).appendChild(errorBox(e, {title: "The zones cannot be listed"}));
      return;
    }
    if (!ctx.current()) return;
    const jobs = [];
    for (const z of res.data) {
      count++;
      const link = h("a", {href: `/ui/zones/${zoneId(z.name)}`}, z.name);
      const cells = [h("td"), h("td"), h("td", {class: "expiry"})];
      const actions = h("td", {class: "row-actions"},
        h("button", {type: "button", class: "btn small", "aria-label": `Export ${z.name}`, on: {click: (ev) => busy(ev.currentTarget, () => exportZone(z.name).catch((e) => toast(e.message)))}}, "Export"),
        ctx.caps.write ? h("button", {type: "button", class: "btn small danger", "aria-label": `Delete ${z.name}`, on: {click: () => deleteZone(z.name, () => ctx.refresh())}}, "Delete") : null);
      if (z.dnssec) {
        cells[0].appendChild(h("span", {class: "muted"}, "…"));
        jobs.push(() => fillDnssec(cells, z));
      } else {
        cells[0].appendChild(shield(false));
        cells[1].appendChild(h("span", {class: "muted"}, "—"));
        cells[2].appendChild(h("span", {class: "muted"}, "—"));
      }
      const tr = h("tr", {"data-name": z.name},
        h("th", {scope: "row", "data-label": "Zone"}, link),
        h("td", {"data-label": "Kind"}, z.kind),
        h("td", {"data-label": "Serial", class: "num"}, String(z.serial)),
        cells.map((c, i) => { c.setAttribute("data-label", ["DNSSEC", "DS at parent", "Earliest signature expiry"][i]); return c; }),
        actions);
      tbody.appendChild(tr);
    }
    status.textContent = count === 0 ? (ctx.caps.write ? "No zones yet: create one or import a zone file." : "No zones.") : `${count} zone${count === 1 ? "" : "s"}`;
    const next = res.headers.get("X-Ensign-Next-Cursor");
    clear(more);
    if (next) {
      more.appendChild(h("button", {type: "button", class: "btn", on: {click: () => load(next)}}, "More zones"));
    }
    await limited(jobs, 4);
  };
  await load(null);
}
