// Building the page: elements made node by node (text always through textContent, so every
// value from a zone is shown as text and never parsed as markup), times, icons, dialogs,
// copy buttons and the display of the API's errors.

const SVGNS = "http://www.w3.org/2000/svg";

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === "class") {
      el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    } else if (k === "text") {
      el.textContent = String(v);
    } else if (k === "value" && "value" in el) {
      el.value = v;
    } else if (k === "checked" || k === "selected" || k === "disabled" || k === "required") {
      el[k] = Boolean(v);
    } else if (k === "style") {
      throw new Error("no inline style: use a class"); // the CSP forbids it anyway
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

// h("a", {href: "/ui/"}, "text", child, [more]): an element; strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// An icon from the sprite (icons.svg): shield, shield-check, shield-alert, shield-off, copy.
export function icon(name, cls) {
  return s("svg", {class: ["icon", cls], "aria-hidden": "true", focusable: "false"},
           s("use", {href: `/ui/assets/icons.svg#${name}`}));
}

// ---- times ----

// A Date from an RFC 3339 string or Unix seconds; null for nothing.
export function toDate(t) {
  if (t === null || t === undefined || t === "") return null;
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// RFC 3339 in UTC, to the second.
export function utc(t) {
  const d = toDate(t);
  return d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "—";
}

const localFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  timeZoneName: "short",
});

// The time where the reader is (for planning a wait).
export function local(t) {
  const d = toDate(t);
  return d ? localFmt.format(d) : "—";
}

// "in 3 h 5 min" / "12 min ago".
export function relative(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return "";
  const sec = Math.round((d.getTime() - now) / 1000);
  if (Math.abs(sec) < 5) return "just now";
  const txt = duration(Math.abs(sec));
  return sec >= 0 ? `in ${txt}` : `${txt} ago`;
}

export function duration(sec) {
  sec = Math.round(sec);
  if (sec < 60) return `${sec} s`;
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
  const parts = [];
  for (const [u, n] of units) {
    if (sec >= n && parts.length < 2) {
      parts.push(`${Math.floor(sec / n)} ${u}`);
      sec %= n;
    }
  }
  return parts.join(" ");
}

// <time> showing UTC; with local: the local time beside it.
export function timeEl(t, opts = {}) {
  const d = toDate(t);
  if (!d) return h("span", {class: "muted"}, opts.none || "—");
  const el = h("time", {datetime: utc(d), class: "ts"}, utc(d));
  if (!opts.local) return el;
  return h("span", {class: "ts-pair"}, el,
           h("span", {class: "ts-local"}, ` (${local(d)}${opts.rel ? ", " + relative(d) : ""})`));
}

// Text from the API in which Unix times ("until 1765200000") and waits ("(3900 s)") appear:
// times become UTC and local, waits a readable duration and when they end if begun now.
export function explained(text, now = Date.now()) {
  const out = [];
  const re = /\b(1[5-9]\d{8}|[2-3]\d{9})\b|\((\d+) s\)/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    out.push(text.slice(last, m.index));
    if (m[1]) {
      out.push(timeEl(Number(m[1]), {local: true}));
    } else {
      const secs = Number(m[2]);
      const end = new Date(now + secs * 1000);
      out.push(h("span", {class: "wait"}, `(${duration(secs)}: if begun now, until `,
                 h("time", {datetime: utc(end)}, utc(end)), ` — ${local(end)})`));
    }
    last = re.lastIndex;
  }
  out.push(text.slice(last));
  return out;
}

// ---- feedback ----

let toastTimer = 0;
export function toast(msg) {
  const t = document.getElementById("toast");
  if (!t) return;
  t.textContent = msg;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), 2500);
}

// Copies text: the Clipboard API, or (outside a secure context, where it does not exist) a
// selected text area.
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = h("textarea", {class: "offscreen", readonly: true, "aria-hidden": "true"});
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  const ok = document.execCommand("copy");
  ta.remove();
  if (!ok) throw new Error("the browser refused to copy");
}

// A copy button for text; label says what is copied ("Copy DS record 12345 SHA-256").
export function copyButton(text, label) {
  return h("button", {
    type: "button", class: "btn icon-btn copy", "aria-label": label, title: label,
    "data-copy": text,
    on: {
      click: async () => {
        try {
          await copyText(text);
          toast("Copied to the clipboard");
        } catch (e) {
          toast(`Not copied: ${e.message}`);
        }
      },
    },
  }, icon("copy"), h("span", {class: "copy-label"}, "Copy"));
}

// The field a message of the API names ("rrsets[0].records[2].content: ..." → the path and the
// message), or null.
export function fieldOf(msg) {
  const at = /^([A-Za-z][\w.[\]-]*):(\d+):(\d+): (.*)$/s.exec(msg || "");
  if (at) return {field: at[1], error: `line ${at[2]}, column ${at[3]}: ${at[4]}`};
  const m = /^([A-Za-z][\w.[\]-]*): (.*)$/s.exec(msg || "");
  return m ? {field: m[1], error: m[2]} : null;
}

// An error of the API as a block: the sentence, and for a refused step its reason and the
// safe order as a numbered list with the waits as times.
export function errorBox(err, opts = {}) {
  const body = err && err.body ? err.body : {};
  const box = h("div", {class: "alert error", role: "alert"});
  if (body.code === "unsafe-step" || Array.isArray(body.safeOrder)) {
    box.appendChild(h("p", {class: "alert-title"}, opts.title || "Refused: this step is not safe now"));
    box.appendChild(h("p", {class: "reason"}, h("strong", {}, "Why: "), explained(body.reason || body.error || "")));
    if (Array.isArray(body.safeOrder) && body.safeOrder.length) {
      box.appendChild(h("p", {}, h("strong", {}, "The safe order:")));
      box.appendChild(h("ol", {class: "safe-order"}, body.safeOrder.map((st) => h("li", {}, explained(st)))));
    }
  } else {
    box.appendChild(h("p", {}, opts.title ? h("strong", {}, opts.title + ": ") : null,
                      explained((err && err.message) || String(err))));
    if (Array.isArray(body.errors) && body.errors.length > 1) {
      box.appendChild(h("ul", {}, body.errors.map((e) => h("li", {}, `${e.field}: ${e.error}`))));
    }
  }
  return box;
}

// ---- dialogs ----

// A modal dialog (the <dialog> element: focus is kept inside, Escape closes it). content is a
// node or a list; returns the dialog, already open. onClose runs once when it closes.
export function openDialog(title, content, onClose) {
  const id = `dlg-${Math.random().toString(36).slice(2)}`;
  const closeBtn = h("button", {type: "button", class: "btn icon-btn close", "aria-label": "Close"}, "×");
  const dlg = h("dialog", {class: "dialog", "aria-labelledby": id},
                h("div", {class: "dialog-head"}, h("h2", {id}, title), closeBtn),
                h("div", {class: "dialog-body"}, content));
  const opener = document.activeElement;
  closeBtn.addEventListener("click", () => dlg.close());
  dlg.addEventListener("close", () => {
    dlg.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected && opener.focus) opener.focus();
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  const first = dlg.querySelector(".dialog-body input:not([type=hidden]), .dialog-body select, .dialog-body textarea");
  if (first) first.focus();
  return dlg;
}

// A yes/no question; resolves true when confirmed.
export function confirmDialog(title, body, yes, danger = true) {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h("button", {type: "button", class: ["btn", danger ? "danger" : "primary"]}, yes);
    const no = h("button", {type: "button", class: "btn"}, "Cancel");
    const dlg = openDialog(title, [h("div", {}, body), h("div", {class: "actions"}, no, ok)],
                           () => resolve(answer));
    ok.addEventListener("click", () => { answer = true; dlg.close(); });
    no.addEventListener("click", () => dlg.close());
    no.focus();
  });
}

// ---- forms ----

let fieldSeq = 0;

// A labelled control: field("Name", input, "hint"). The input gets an id; a place for the
// field's error follows it (aria-describedby).
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
  return h("div", {class: "field"},
           h("label", {for: id}, label),
           control,
           hint ? h("p", {class: "hint", id: hintId}, hint) : null,
           h("p", {class: "field-error", id: errId, hidden: true}));
}

// Shows msg beside control (or clears it with null).
export function setFieldError(control, msg) {
  const p = document.getElementById(`${control.id}-err`);
  if (!p) return;
  p.textContent = msg || "";
  p.hidden = !msg;
  if (msg) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

export function clearFieldErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) {
    p.textContent = "";
    p.hidden = true;
  }
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

// <select> from [value, label] pairs.
export function select(options, value, attrs = {}) {
  return h("select", attrs, options.map(([v, l]) => h("option", {value: v, selected: v === value}, l)));
}

// A busy state for a button while promise runs.
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
