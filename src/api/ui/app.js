// The dashboard: sign-in, the navigation and the routes of the page (the History API: every
// /ui/... address is the page, and the script shows what the path names).
import {call, capabilities, forgetKey, getKey, nameOfId, setKey, whenUnauthorized} from "./api.js";
import {busy, clear, field, h, setFieldError} from "./dom.js";
import {zonesPage} from "./zones.js";
import {zonePage} from "./zone.js";
import {auditPage, policiesPage, tokensPage, webhooksPage} from "./account.js";

const main = () => document.getElementById("main");
let caps = null;
let generation = 0; // pages drawn for an older navigation stop drawing

// The routes: a path pattern and the page it shows.
const ROUTES = [
  [/^\/ui\/?$/, () => zonesPage],
  [/^\/ui\/zones\/([^/]+)\/?$/, (m) => (ctx) => zonePage(ctx, nameOfId(decodeURIComponent(m[1])), "records")],
  [/^\/ui\/zones\/([^/]+)\/dnssec\/?$/, (m) => (ctx) => zonePage(ctx, nameOfId(decodeURIComponent(m[1])), "dnssec")],
  [/^\/ui\/tokens\/?$/, () => tokensPage],
  [/^\/ui\/policies\/?$/, () => policiesPage],
  [/^\/ui\/webhooks\/?$/, () => webhooksPage],
  [/^\/ui\/audit\/?$/, () => auditPage],
];

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

function navLinks() {
  const nav = clear(document.getElementById("nav"));
  if (!caps) return;
  const here = location.pathname;
  const links = [["/ui/", "Zones", here === "/ui/" || here === "/ui" || here.startsWith("/ui/zones")]];
  links.push(["/ui/policies", "Policies", here.startsWith("/ui/policies")]);
  if (caps.admin) {
    links.push(["/ui/tokens", "Tokens", here.startsWith("/ui/tokens")]);
    links.push(["/ui/webhooks", "Webhooks", here.startsWith("/ui/webhooks")]);
    links.push(["/ui/audit", "Audit log", here.startsWith("/ui/audit")]);
  }
  nav.appendChild(h("ul", {}, links.map(([href, text, cur]) =>
    h("li", {}, h("a", {href, "aria-current": cur ? "page" : null}, text)))));
}

function whoBox() {
  const who = clear(document.getElementById("who"));
  if (!caps) return;
  const label = caps.admin ? "administrator key"
    : `${caps.permission} token${caps.name ? ` “${caps.name}”` : ""}${Array.isArray(caps.zones) ? ` (${caps.zones.length} zone${caps.zones.length === 1 ? "" : "s"})` : ""}`;
  who.appendChild(h("span", {class: "who-label", title: label}, label));
  who.appendChild(h("button", {type: "button", class: "btn small", on: {click: signOut}}, "Sign out"));
}

function signOut() {
  forgetKey();
  caps = null;
  navLinks();
  whoBox();
  render();
}

function signInPage(message) {
  const m = clear(main());
  document.title = "Sign in · ensign";
  const input = h("input", {type: "password", name: "key", autocomplete: "off", spellcheck: "false", required: true});
  const btn = h("button", {type: "submit", class: "btn primary"}, "Sign in");
  const form = h("form", {class: "card signin", novalidate: true},
    h("h1", {tabindex: "-1"}, "Sign in"),
    h("p", {}, "Type the server's API key or a scoped token. It is kept in this browser tab only, and forgotten when the tab closes."),
    field("API key or token", input),
    h("div", {class: "actions"}, btn));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const k = input.value.trim();
    if (!k) {
      setFieldError(input, "Type a key or a token.");
      input.focus();
      return;
    }
    setKey(k);
    await busy(btn, async () => {
      try {
        caps = capabilities(await call("GET", "/api/v1/tokens/self"));
      } catch (e) {
        forgetKey();
        caps = null;
        setFieldError(input, e.status === 401 ? "This key or token is not valid (or was revoked)." : e.message);
        input.focus();
        return;
      }
      input.value = "";
      render();
    });
  });
  m.appendChild(form);
  if (message) setFieldError(input, message);
  input.focus();
}

async function render() {
  const gen = ++generation;
  if (!getKey()) {
    caps = null;
    navLinks();
    whoBox();
    signInPage();
    return;
  }
  if (!caps) {
    try {
      caps = capabilities(await call("GET", "/api/v1/tokens/self"));
    } catch (e) {
      forgetKey();
      caps = null;
      navLinks();
      whoBox();
      signInPage(e.status === 401 ? "This key or token is not valid any more." : e.message);
      return;
    }
  }
  navLinks();
  whoBox();
  const path = location.pathname;
  let page = null;
  for (const [re, make] of ROUTES) {
    const m = re.exec(path);
    if (m) {
      page = make(m);
      break;
    }
  }
  const m = clear(main());
  const ctx = {caps, navigate, current: () => gen === generation, main: m, refresh: render};
  if (!page) {
    document.title = "Not found · ensign";
    m.appendChild(h("h1", {tabindex: "-1"}, "Nothing here"));
    m.appendChild(h("p", {}, "This address names no page of the dashboard. ", h("a", {href: "/ui/"}, "Go to the zones")));
    return;
  }
  await page(ctx);
  const h1 = m.querySelector("h1");
  if (h1 && gen === generation && !document.querySelector("dialog[open]")) {
    h1.setAttribute("tabindex", "-1");
    if (focusOnRender) h1.focus({preventScroll: true});
  }
  focusOnRender = true;
}

let focusOnRender = false;

// Links inside the page change the path without loading the page again.
document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui")) return;
  if (url.pathname === location.pathname && url.hash) return; // a link within the page
  ev.preventDefault();
  if (url.pathname !== location.pathname) navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => render());
whenUnauthorized(() => {
  if (caps) {
    forgetKey();
    caps = null;
    signInPage("The key or token is not valid any more: sign in again.");
    navLinks();
    whoBox();
  }
});

render();
