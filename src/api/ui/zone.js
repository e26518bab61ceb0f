// One zone: its head (name, kind, serial, DNSSEC state, export, delete) and two tabs, the
// records and the DNSSEC panel, each with its own address (/ui/zones/NAME[/dnssec]).
import {call, zoneId, zonePath} from "./api.js";
import {busy, errorBox, h, toast} from "./dom.js";
import {deleteZone, exportZone, shield} from "./zones.js";
import {recordsTab} from "./records.js";
import {dnssecTab} from "./dnssec.js";

export async function zonePage(ctx, name, tab) {
  const m = ctx.main;
  document.title = `${name} · ensign`;
  let zone;
  let st = null;
  try {
    zone = await call("GET", zonePath(name));
    if (zone.dnssec) st = await call("GET", `${zonePath(name)}/dnssec`);
  } catch (e) {
    if (!ctx.current()) return;
    m.append(h("h1", {}, name), errorBox(e, {title: e.status === 404 ? "No such zone" : "The zone cannot be read"}),
             h("p", {}, h("a", {href: "/ui/"}, "Back to the zones")));
    return;
  }
  if (!ctx.current()) return;
  const base = `/ui/zones/${zoneId(zone.name)}`;
  const actions = h("div", {class: "toolbar"},
    h("button", {type: "button", class: "btn", on: {click: (ev) => busy(ev.currentTarget, () => exportZone(zone.name).catch((e) => toast(e.message)))}}, "Export"),
    ctx.caps.write ? h("button", {type: "button", class: "btn danger", on: {click: () => deleteZone(zone.name, () => ctx.navigate("/ui/"))}}, "Delete zone") : null);
  const facts = h("dl", {class: "facts"},
    h("div", {}, h("dt", {}, "Kind"), h("dd", {}, zone.kind)),
    h("div", {}, h("dt", {}, "Serial"), h("dd", {}, String(zone.serial))),
    h("div", {}, h("dt", {}, "DNSSEC"), h("dd", {}, shield(zone.dnssec, st))),
    zone.nsec3param ? h("div", {}, h("dt", {}, "NSEC3"), h("dd", {class: "mono"}, zone.nsec3param)) : null);
  const tabs = h("nav", {class: "tabs", "aria-label": "Zone sections"},
    h("a", {href: base, "aria-current": tab === "records" ? "page" : null}, "Records"),
    h("a", {href: `${base}/dnssec`, "aria-current": tab === "dnssec" ? "page" : null}, "DNSSEC"));
  const body = h("section", {class: "tab-body"});
  m.append(h("p", {class: "crumbs"}, h("a", {href: "/ui/"}, "Zones"), " / "),
           h("div", {class: "page-head"}, h("h1", {class: "zone-name"}, zone.name), actions),
           facts, tabs, body);
  if (tab === "dnssec") await dnssecTab(ctx, zone, st, body);
  else await recordsTab(ctx, zone, body);
}
