// The year ahead as the key manager plans it (GET .../dnssec/timeline, a dry run), drawn as a
// picture: one lane per key with its published and signing periods, and the events at the
// parent (CDS, DS) on a lane of their own. The events are also listed as text for screen
// readers and for copying.
import {call, zonePath} from "./api.js";
import {clear, errorBox, h, local, s, utc} from "./dom.js";

const DAY = 86400 * 1000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const PARENT_ACTIONS = new Set(["ds-seen", "ds-gone", "cds-publish", "cds-delete", "finish-disable"]);

// Lanes from the events and the keys as they are now: for each key, the spans it is published
// and active within [t0, t1], and its events.
function lanes(events, keys, t0, t1) {
  const byId = new Map();
  const lane = (id, role) => {
    if (!byId.has(id)) {
      const k = keys.find((x) => x.id === id);
      byId.set(id, {
        id, role: k ? k.keytype : role,
        label: k ? `${k.keytype.toUpperCase()} ${k.keyTag}` : `new ${role.toUpperCase()} (id ${id})`,
        pubFrom: k && k.published ? t0 : null, actFrom: k && k.active ? t0 : null,
        pub: [], act: [], events: [],
      });
    }
    return byId.get(id);
  };
  for (const k of keys) lane(k.id, k.keytype);
  const parent = {id: "parent", label: "At the parent (DS, CDS)", events: [], pub: [], act: [], parent: true};
  for (const ev of events) {
    const t = Date.parse(ev.at);
    if (Number.isNaN(t)) continue;
    if (PARENT_ACTIONS.has(ev.action) || !ev.keyId) {
      parent.events.push({t, ev});
      continue;
    }
    const l = lane(ev.keyId, ev.role);
    l.events.push({t, ev});
    if (ev.action === "publish" && l.pubFrom === null) l.pubFrom = t;
    if (ev.action === "activate" && l.actFrom === null) l.actFrom = t;
    if (ev.action === "retire" && l.actFrom !== null) {
      l.act.push([l.actFrom, t]);
      l.actFrom = null;
    }
    if ((ev.action === "remove" || ev.action === "delete") && l.pubFrom !== null) {
      l.pub.push([l.pubFrom, t]);
      l.pubFrom = null;
      if (l.actFrom !== null) {
        l.act.push([l.actFrom, t]);
        l.actFrom = null;
      }
    }
  }
  const out = [];
  for (const l of byId.values()) {
    if (l.pubFrom !== null) l.pub.push([l.pubFrom, t1]);
    if (l.actFrom !== null) l.act.push([l.actFrom, t1]);
    if (l.pub.length || l.act.length || l.events.length) out.push(l);
  }
  if (parent.events.length) out.push(parent);
  return out;
}

function label(ev) {
  return `${utc(ev.at)}: ${ev.action}${ev.keyId ? ` ${ev.role.toUpperCase()} (key id ${ev.keyId})` : ""}${ev.algorithm ? `, ${ev.algorithm}` : ""}`;
}

export function drawTimeline(events, keys, width, now = Date.now()) {
  const t0 = now;
  const t1 = now + 366 * DAY;
  const ls = lanes(events, keys, t0, t1);
  const padL = 8;
  const padR = 12;
  const laneH = 46;
  const top = 28;
  const w = Math.max(300, Math.floor(width));
  const height = top + ls.length * laneH + 34;
  const x = (t) => padL + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (w - padL - padR);
  const titleId = `tl-title-${Math.random().toString(36).slice(2)}`;
  const descId = `${titleId}-d`;
  const svg = s("svg", {class: "timeline", width: String(w), height: String(height), viewBox: `0 0 ${w} ${height}`,
    role: "img", "aria-labelledby": `${titleId} ${descId}`},
    s("title", {id: titleId}, "Key timeline for the next year"),
    s("desc", {id: descId}, `${events.length} planned events over ${ls.length} lanes, from ${utc(new Date(t0))} to ${utc(new Date(t1))}.`));

  // month grid
  const d = new Date(t0);
  const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const every = w < 520 ? 3 : w < 800 ? 2 : 1;
  let i = 0;
  for (let t = first; t < t1; i++) {
    const md = new Date(t);
    const gx = x(t);
    svg.appendChild(s("line", {class: "grid", x1: gx, x2: gx, y1: top - 6, y2: height - 26}));
    if (i % every === 0) {
      const txt = md.getUTCMonth() === 0 ? `${MONTHS[0]} ${md.getUTCFullYear()}` : MONTHS[md.getUTCMonth()];
      svg.appendChild(s("text", {class: "axis", x: gx + 3, y: height - 10}, txt));
    }
    t = Date.UTC(md.getUTCFullYear(), md.getUTCMonth() + 1, 1);
  }
  // now
  svg.appendChild(s("line", {class: "now", x1: x(t0), x2: x(t0), y1: 6, y2: height - 26}));
  svg.appendChild(s("text", {class: "axis now-label", x: x(t0) + 3, y: 16}, `now (${utc(new Date(t0)).slice(0, 10)})`));

  ls.forEach((l, n) => {
    const y = top + n * laneH;
    svg.appendChild(s("text", {class: "lane-label", x: padL, y: y + 12}, l.label));
    const barY = y + 20;
    svg.appendChild(s("line", {class: "lane-base", x1: padL, x2: w - padR, y1: barY + 6, y2: barY + 6}));
    for (const [a, b] of l.pub) {
      svg.appendChild(s("rect", {class: `span published ${l.role || ""}`, x: x(a), y: barY, width: Math.max(2, x(b) - x(a)), height: 12, rx: 3},
        s("title", {}, `${l.label} published ${utc(new Date(a))} – ${b >= t1 ? "beyond the year" : utc(new Date(b))}`)));
    }
    for (const [a, b] of l.act) {
      svg.appendChild(s("rect", {class: `span active ${l.role || ""}`, x: x(a), y: barY + 2, width: Math.max(2, x(b) - x(a)), height: 8, rx: 2},
        s("title", {}, `${l.label} signing ${utc(new Date(a))} – ${b >= t1 ? "beyond the year" : utc(new Date(b))}`)));
    }
    for (const {t, ev} of l.events) {
      const cx = x(t);
      const cls = `mark ${ev.action}`;
      const title = s("title", {}, label(ev));
      if (l.parent) {
        svg.appendChild(s("path", {class: cls, d: `M${cx} ${barY - 1} l7 7 l-7 7 l-7 -7 z`}, title));
      } else {
        svg.appendChild(s("circle", {class: cls, cx, cy: barY + 6, r: 5}, title));
      }
    }
  });
  return svg;
}

function legend() {
  const item = (cls, text) => h("li", {}, s("svg", {width: "22", height: "12", "aria-hidden": "true"},
    cls === "mark" ? s("circle", {class: "mark publish", cx: "11", cy: "6", r: "5"})
      : cls === "parent" ? s("path", {class: "mark cds-publish", d: "M11 0 l6 6 l-6 6 l-6 -6 z"})
        : s("rect", {class: `span ${cls}`, x: "0", y: cls === "active" ? "2" : "0", width: "22", height: cls === "active" ? "8" : "12", rx: "2"})), " ", text);
  return h("ul", {class: "legend"}, item("published", "DNSKEY published"), item("active", "signing"), item("mark", "key event"), item("parent", "event at the parent"));
}

// The timeline card in box; returns a function that draws it again from fresh data.
export async function timelineSection(ctx, zone, box) {
  const sec = h("section", {class: "card timeline-card", id: "timeline", "aria-labelledby": "tl-h"},
    h("h3", {id: "tl-h"}, "The year ahead"),
    h("p", {class: "muted"}, "What the key manager plans from today's keys and policy (a dry run: nothing changes). Hover over a mark for its time; every event is also listed below."));
  const body = h("div");
  sec.appendChild(body);
  box.appendChild(sec);
  let events = [];
  let keys = [];
  const pic = h("div", {class: "timeline-wrap"});
  const draw = () => {
    const width = pic.clientWidth || sec.clientWidth || 600;
    clear(pic).appendChild(drawTimeline(events, keys, width));
  };
  const load = async () => {
    let data;
    try {
      data = await call("GET", `${zonePath(zone.name)}/dnssec/timeline`);
      keys = await call("GET", `${zonePath(zone.name)}/cryptokeys`);
    } catch (e) {
      clear(body).appendChild(errorBox(e, {title: "No timeline"}));
      return;
    }
    events = data.events || [];
    clear(body).append(pic, legend(),
      events.length ? "" : h("p", {}, "Nothing is planned for the next year."),
      h("details", {class: "events-text"},
        h("summary", {}, `The ${events.length} events as text${data.truncated ? " (more than an answer holds)" : ""}`),
        h("ol", {}, events.map((ev) => h("li", {}, `${label(ev)} (${local(ev.at)})`)))));
    draw();
  };
  await load();
  let lastW = pic.clientWidth;
  const ro = new ResizeObserver(() => {
    if (!document.contains(pic)) {
      ro.disconnect();
      return;
    }
    if (Math.abs(pic.clientWidth - lastW) > 8) {
      lastW = pic.clientWidth;
      draw();
    }
  });
  ro.observe(pic);
  return load;
}
