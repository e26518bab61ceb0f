"""The dashboard in headless Chromium against a real `ensign serve`: sign-in, a zone created,
records added (a bad one shows the API's error beside the field; a TXT holding a <script> is
shown as text and runs nothing), DNSSEC enabled and the DS copied (the clipboard holds exactly
the API's dsRecords[].record), the parent (NSD, serving a zone written with that DS) probed
until the panel says dsDelegated, a key generated and activated, the active KSK's deletion
refused with its safe order on the page, DNSSEC turned off into the waiting state, a token made
on the tokens page, and that read token shown no edit controls. Each step is photographed at
desktop and phone widths into build/ui-screenshots/.

The steps share one server and one browser and run in order: each builds on the last."""
import os

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import servelib
import uilib

KEY = "ui-test-admin-key"
PARENT = "uitest."
ZONE = "shop.uitest."
ZPATH = f"/api/v1/servers/localhost/zones/{ZONE}"
SCRIPT_TXT = "<script>alert(1)</script>"


class State:
    pass


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    work = tmp_path_factory.mktemp("ui")
    st = State()
    st.work = work
    with servelib.ApiServer(work, KEY) as srv:
        st.base = srv.base
        st.api = requests.Session()
        st.api.headers["X-API-Key"] = KEY
        st.b = uilib.Browser()
        st.nsd = None
        try:
            yield st
        finally:
            st.b.close()
            if st.nsd is not None:
                st.nsd.__exit__(None, None, None)


def api(st, method, path, **kw):
    r = st.api.request(method, st.base + path, timeout=60, **kw)
    assert r.status_code < 500, r.text
    return r


def no_console_problems(st):
    bad = st.b.console_problems()
    assert not bad, bad


def dialog(st):
    return st.b.wait_css("dialog[open]")


def test_root_redirects_and_the_page_asks_for_a_key(ui):
    b = ui.b
    b.get(ui.base + "/")
    b.wait("the /ui/ address", lambda: b.d.current_url.endswith("/ui/"))
    key = b.wait_css("input[type=password]")
    label = b.css(f"label[for='{key.get_attribute('id')}']")
    assert label.text == "API key or token"
    b.screenshot("01-sign-in")
    key.send_keys("not-a-key" + Keys.ENTER)
    b.wait("the refusal of a bad key", lambda: "not valid" in b.field_error(b.css("input[type=password]")))
    assert b.d.execute_script("return sessionStorage.getItem('ensign.key')") is None
    no_console_problems(ui)


def test_sign_in_keeps_the_key_in_session_storage_only(ui):
    b = ui.b
    key = b.css("input[type=password]")
    key.clear()
    key.send_keys(KEY + Keys.ENTER)
    b.wait_css("h1")
    b.wait("the zones page", lambda: b.css("h1").text == "Zones")
    assert b.d.execute_script("return sessionStorage.getItem('ensign.key')") == KEY
    assert b.d.execute_script("return localStorage.length") == 0
    assert b.d.get_cookies() == []
    b.wait("the empty list", lambda: "No zones yet" in b.text())
    b.screenshot("02-zones-empty")
    no_console_problems(ui)


def test_create_a_zone(ui):
    b = ui.b
    b.button("Create zone").click()
    dlg = dialog(ui)
    name = dlg.find_element(By.CSS_SELECTOR, "input[name=name]")
    name.send_keys(ZONE.rstrip("."))
    dlg.find_element(By.CSS_SELECTOR, "input[name=nameservers]").send_keys("ns1.example.net.")
    b.button("Create", dlg).click()
    b.wait("the zone page", lambda: b.d.current_url.endswith(f"/ui/zones/{ZONE}"))
    b.wait("the zone's name as heading", lambda: b.css("h1").text == ZONE)
    r = api(ui, "GET", ZPATH)
    assert r.status_code == 200 and r.json()["kind"] == "Native", r.text
    b.screenshot("03-zone-created")
    no_console_problems(ui)


def add_records(ui, name, rtype, data):
    b = ui.b
    b.button("Add records").click()
    dlg = dialog(ui)
    dlg.find_element(By.XPATH, ".//label[text()='Name']/following-sibling::input").send_keys(name)
    sel = dlg.find_element(By.XPATH, ".//label[text()='Type']/following-sibling::select")
    sel.find_element(By.CSS_SELECTOR, f"option[value='{rtype}']").click()
    text = dlg.find_element(By.CSS_SELECTOR, "textarea")
    text.clear()
    text.send_keys(data)
    b.button("Add", dlg).click()
    return dlg, text


def test_a_bad_record_shows_the_apis_error_beside_the_field(ui):
    b = ui.b
    dlg, data = add_records(ui, "www", "A", "192.0.2.999")
    err = b.wait("the field error", lambda: b.field_error(data))
    # the sentence is the API's own, for the field it names
    r = api(ui, "PATCH", ZPATH, json={"rrsets": [{"name": f"www.{ZONE}", "type": "A", "ttl": 3600,
                                                  "changetype": "EXTEND",
                                                  "records": [{"content": "192.0.2.999"}]}]})
    assert r.status_code == 422, r.text
    [e] = r.json()["errors"]
    assert e["field"] == "rrsets[0].records[0].content"
    assert err == f"Line 1: {e['error']}", err
    assert data.get_attribute("aria-invalid") == "true"
    b.screenshot("04-record-field-error")
    data.clear()
    data.send_keys("192.0.2.10")
    b.button("Add", dlg).click()
    b.wait("the dialog to close", lambda: not b.all("dialog[open]"))
    b.wait("the new A record", lambda: "192.0.2.10" in b.css("table.records").text)
    no_console_problems(ui)


def test_a_txt_record_with_a_script_is_shown_as_text(ui):
    b = ui.b
    add_records(ui, "xss", "TXT", f'"{SCRIPT_TXT}"')
    b.wait("the dialog to close", lambda: not b.all("dialog[open]"))
    row = b.wait("the TXT row", lambda: b.css(f"tr[data-type='TXT'][data-name='xss.{ZONE}']"))
    assert SCRIPT_TXT in row.text, row.text
    assert not b.alert_open()
    # nothing of the record became markup: no script, image or frame anywhere in the page body
    assert b.d.execute_script("return document.querySelectorAll('main script, main img, main iframe').length") == 0
    assert b.d.execute_script("return document.querySelectorAll('script').length") == 1
    # the served RRset is the text as given
    rr = [x for x in api(ui, "GET", ZPATH).json()["rrsets"] if x["type"] == "TXT"]
    assert rr and rr[0]["records"][0]["content"] == f'"{SCRIPT_TXT}"'
    b.screenshot("05-records")
    assert not b.alert_open()
    no_console_problems(ui)


def test_deep_link_opens_the_zone(ui):
    b = ui.b
    b.get(f"{ui.base}/ui/zones/{ZONE.rstrip('.')}")
    b.wait("the zone page from its address", lambda: b.css("h1").text == ZONE)
    assert SCRIPT_TXT in b.css("table.records").text
    assert not b.alert_open()


def test_enable_dnssec_and_copy_the_ds(ui):
    b = ui.b
    b.css("nav.tabs a[href$='/dnssec']").click()
    b.wait("the enable form", lambda: b.css("form.enable"))
    b.css("input[name=scheme][value='ksk+zsk']").click()
    b.screenshot("06-dnssec-enable")
    b.button("Enable DNSSEC").click()
    b.wait("the DS records", lambda: b.all("#ds-records .ds[data-record]"))
    st = api(ui, "GET", ZPATH + "/dnssec").json()
    assert st["enabled"] and len(st["dsRecords"]) == 2, st
    ui.b.allow_clipboard(ui.base)
    for d in st["dsRecords"]:
        label = f"Copy DS {d['keyTag']} {d['digestTypeName']} as one line"
        b.button(label).click()
        b.wait(f"the clipboard to hold {d['record']}", lambda: b.clipboard() == d["record"])
        b.button(f"Copy digest of DS {d['keyTag']} {d['digestTypeName']}").click()
        b.wait("the digest on the clipboard", lambda: b.clipboard() == d["digest"])
    sha256 = [d for d in st["dsRecords"] if d["digestType"] == 2][0]
    b.button(f"Copy DS {sha256['keyTag']} SHA-256 as one line").click()
    ui.ds = b.wait("the SHA-256 DS on the clipboard", lambda: (c := b.clipboard()) == sha256["record"] and c)
    # the DNSKEY form of the KSK, field by field
    ksk = [k for k in st["keys"] if k["flags"] == 257][0]
    b.button(f"Copy public key of DNSKEY {ksk['keyTag']}").click()
    b.wait("the public key on the clipboard", lambda: b.clipboard() == ksk["publicKey"])
    # every status field is on the page
    for f in ("enabled", "dsDelegated", "lastSignedAt", "lastSignError", "nextDsProbeAt",
              "rrsigEarliestExpiry", "dsRecords"):
        assert b.all(f"#dnssec-status [data-field={f}]"), f
    # the year's timeline is a picture
    b.wait("the timeline", lambda: b.css("#timeline svg.timeline"))
    assert not b.all("#timeline table")
    b.screenshot("07-dnssec-enabled")
    no_console_problems(ui)


def test_the_parent_gets_the_ds_and_the_panel_says_delegated(ui):
    b = ui.b
    zone = ui.work / "uitest.zone"
    zone.write_text("\n".join([
        f"$ORIGIN {PARENT}", "$TTL 60",
        f"@ SOA ns.{PARENT} admin.{PARENT} 1 3600 900 604800 60",
        f"@ NS ns.{PARENT}", "ns A 127.0.0.1",
        f"shop NS ns1.example.net.",
        f"shop DS {ui.ds}", ""]))
    ui.nsd = servelib.Nsd([(PARENT, str(zone))], str(ui.work / "nsd"))
    ui.nsd.__enter__()
    r = api(ui, "PUT", ZPATH + "/dnssec", json={"enabled": True, "scheme": "ksk+zsk",
                                                "parentServers": [f"127.0.0.1:{ui.nsd.port}"]})
    assert r.status_code == 200, r.text
    b.d.refresh()
    b.wait("the parent's server in the panel", lambda: f"127.0.0.1:{ui.nsd.port}" in b.text())
    clicks = 0

    def delegated():
        # the server probes the parent by itself too, so the page may say Yes before any click:
        # the check is asked for at least once
        nonlocal clicks
        if clicks > 0 and b.css("#dnssec-status [data-field=dsDelegated]").text == "Yes":
            return True
        btn = b.button("Check DS at the parent")
        if btn.get_attribute("aria-busy") != "true" and clicks < 6:
            btn.click()
            clicks += 1
            b.wait("the check's result", lambda: b.css("#check-result"))
        return False
    b.wait("dsDelegated true on the page", delegated, timeout=60)
    assert api(ui, "GET", ZPATH + "/dnssec").json()["dsDelegated"] is True
    # the status refreshes by itself too: the last check's table may still be on its way
    b.wait("the last check done", lambda: b.button("Check DS at the parent").get_attribute("aria-busy") != "true")
    row = b.wait("the last check's table", lambda: b.css("#check-result table tbody tr"))
    assert f"127.0.0.1:{ui.nsd.port}" in row.text and "ok" in row.text, row.text
    assert ui.ds.lower() in row.text.lower()  # the parent writes the digest in capitals
    b.screenshot("08-ds-at-parent")
    no_console_problems(ui)


def test_generate_a_key_and_activate_it(ui):
    b = ui.b
    before = {k["id"] for k in api(ui, "GET", ZPATH + "/cryptokeys").json()}
    b.button("Generate key").click()
    dlg = dialog(ui)
    # Escape closes a dialog
    dlg.send_keys(Keys.ESCAPE)
    b.wait("the dialog to close on Escape", lambda: not b.all("dialog[open]"))
    b.button("Generate key").click()
    dlg = dialog(ui)
    assert dlg.find_element(By.XPATH, ".//label[text()='Role']/following-sibling::select").get_attribute("value") == "zsk"
    b.button("Generate", dlg).click()
    b.wait("the dialog to close", lambda: not b.all("dialog[open]"))
    keys = api(ui, "GET", ZPATH + "/cryptokeys").json()
    [new] = [k for k in keys if k["id"] not in before]
    assert new["published"] and not new["active"], new
    card = b.wait("the new key among the published ones",
                  lambda: b.css(f"#keys-published li[data-key-id='{new['id']}']"))
    card.find_element(By.CSS_SELECTOR, "button[data-action=activate]").click()
    b.wait("the key among the active ones", lambda: b.css(f"#keys-active li[data-key-id='{new['id']}']"))
    k = api(ui, "GET", ZPATH + f"/cryptokeys/{new['id']}").json()
    assert k["active"] is True, k
    b.screenshot("09-keys")
    no_console_problems(ui)


def test_deleting_the_active_ksk_is_refused_with_the_safe_order(ui):
    b = ui.b
    keys = api(ui, "GET", ZPATH + "/cryptokeys").json()
    [ksk] = [k for k in keys if k["keytype"] == "ksk" and k["active"]]
    b.css(f"#keys-active li[data-key-id='{ksk['id']}'] button[data-action=delete]").click()
    dlg = dialog(ui)
    b.wait("the refusal", lambda: "Refused" in dlg.text)
    steps = [li.text for li in dlg.find_elements(By.CSS_SELECTOR, "ol.safe-order li")]
    # the same refusal from the API: its steps, in order (waits shown with their end times)
    r = api(ui, "DELETE", ZPATH + f"/cryptokeys/{ksk['id']}")
    assert r.status_code == 409, r.text
    want = r.json()["safeOrder"]
    assert len(steps) == len(want), (steps, want)
    for got, exp in zip(steps, want):
        head = exp.split("(")[0].strip()
        assert got.startswith(head), (got, exp)
    assert r.json()["reason"] in dlg.text
    b.screenshot("10-refusal")
    dlg.send_keys(Keys.ESCAPE)
    b.wait("the refusal to close", lambda: not b.all("dialog[open]"))
    assert any(k["id"] == ksk["id"] for k in api(ui, "GET", ZPATH + "/cryptokeys").json())
    # a refusal whose safe order waits: the wait is shown with when it ends, UTC and local
    b.css(f"#keys-active li[data-key-id='{ksk['id']}'] button[data-action=deactivate]").click()
    dlg = dialog(ui)
    b.wait("the refusal", lambda: "Refused" in dlg.text)
    r = api(ui, "PUT", ZPATH + f"/cryptokeys/{ksk['id']}", json={"active": False})
    assert r.status_code == 409, r.text
    wait = [s for s in r.json()["safeOrder"] if " s)" in s][0]
    secs = int(wait.split("(")[1].split(" s)")[0])
    li = [x for x in dlg.find_elements(By.CSS_SELECTOR, "ol.safe-order li")
          if x.text.startswith(wait.split("(")[0].strip())][0]
    assert "if begun now, until" in li.text, li.text
    end = li.find_element(By.CSS_SELECTOR, "time").get_attribute("datetime")
    ends = b.d.execute_script("return (Date.parse(arguments[0]) - Date.now()) / 1000", end)
    assert secs - 120 < ends <= secs + 1, (end, ends, secs)
    b.screenshot("10b-refusal-with-a-wait")
    dlg.send_keys(Keys.ESCAPE)
    b.wait("the refusal to close", lambda: not b.all("dialog[open]"))
    assert api(ui, "GET", ZPATH + f"/cryptokeys/{ksk['id']}").json()["active"] is True
    no_console_problems(ui)


def test_turning_dnssec_off_shows_the_wait(ui):
    b = ui.b
    b.button("Turn DNSSEC off…").click()
    dlg = dialog(ui)
    assert "registrar" in dlg.text
    b.button("Turn DNSSEC off", dlg).click()
    box = b.wait_css("#disabling")
    b.wait("the waiting state", lambda: "waiting for the parent to remove the ds" in b.css("#disabling").text.lower())
    assert ui.ds in b.css("#disabling").text
    st = api(ui, "GET", ZPATH + "/dnssec").json()
    assert st["enabled"] is True and st["rollover"]["phase"] == "disable", st
    assert st["rollover"]["waitingOn"] == "ds-removal", st
    assert box.is_displayed()
    b.screenshot("11-disabling")
    no_console_problems(ui)


def test_account_pages_and_a_token_shown_once(ui):
    b = ui.b
    b.css("#nav a[href='/ui/tokens']").click()
    b.wait("the tokens page", lambda: b.css("h1").text == "Tokens")
    b.button("Create token").click()
    dlg = dialog(ui)
    dlg.find_element(By.XPATH, ".//label[text()='Name']/following-sibling::input").send_keys("viewer")
    b.button("Create token", dlg).click()
    secret = b.wait("the secret", lambda: (t := b.css("#new-token").text) and t)
    assert secret.startswith("ens_")
    ui.read_token = secret
    b.screenshot("12-token-created")
    b.css("dialog[open]").send_keys(Keys.ESCAPE)
    b.wait("the token in the list", lambda: "viewer" in b.css("table.tokens").text)
    assert secret not in b.text()  # shown once only
    r = requests.get(ui.base + "/api/v1/tokens/self", headers={"X-API-Key": secret}, timeout=10)
    assert r.json()["permission"] == "read"
    for path, title, shot in (("/ui/policies", "Policies", "13-policies"),
                              ("/ui/webhooks", "Webhooks", "14-webhooks"),
                              ("/ui/audit", "Audit log", "15-audit")):
        b.css(f"#nav a[href='{path}']").click()
        b.wait(title, lambda: b.css("h1").text == title)
        b.wait(f"{title} loaded", lambda: b.all("main .card, main table, main p"))
        b.screenshot(shot)
    assert "dnssec.disable" in b.text() and "token.create" in b.text()
    b.css("#nav a[href='/ui/']").click()
    b.wait("the zones page", lambda: b.css("h1").text == "Zones")
    b.wait("the zone's DNSSEC state", lambda: "Turning off" in b.css("table.zones").text)
    b.screenshot("16-zones")
    no_console_problems(ui)


EDIT_LABELS = {"Create zone", "Import zone file", "Add records", "Edit", "Delete", "Delete zone",
               "Generate key", "Activate", "Deactivate", "Publish", "Unpublish",
               "Turn DNSSEC off…", "Check DS at the parent", "Check the parent now", "Save",
               "Enable DNSSEC", "Create token", "Create policy", "Add webhook", "Revoke"}


def test_a_read_token_sees_no_edit_controls(ui):
    b = ui.b
    b.button("Sign out").click()
    key = b.wait_css("input[type=password]")
    assert b.d.execute_script("return sessionStorage.getItem('ensign.key')") is None
    key.send_keys(ui.read_token + Keys.ENTER)
    b.wait("the zones page", lambda: b.css("h1").text == "Zones")
    b.wait("the zone row", lambda: ZONE in b.css("table.zones").text)
    assert "read token" in b.css("#who").text
    nav = {a.text for a in b.all("#nav a")}
    assert nav == {"Zones", "Policies"}, nav

    def edit_buttons():
        return sorted(x.text for x in b.buttons() if x.text.strip() in EDIT_LABELS)
    assert edit_buttons() == [], edit_buttons()
    b.screenshot("17-read-only-zones")
    b.get(f"{ui.base}/ui/zones/{ZONE}")
    b.wait("the records", lambda: SCRIPT_TXT in b.css("table.records").text)
    assert edit_buttons() == []
    b.get(f"{ui.base}/ui/zones/{ZONE}/dnssec")
    b.wait("the keys", lambda: b.all("#keys li.key"))
    b.wait("the timeline", lambda: b.css("#timeline svg.timeline"))
    assert edit_buttons() == [], edit_buttons()
    # copying stays: reading the DS is what a read token is for
    assert b.all("button.copy")
    b.screenshot("18-read-only-dnssec")
    b.get(f"{ui.base}/ui/policies")
    b.wait("the policies", lambda: b.all(".policy"))
    assert edit_buttons() == []
    assert not b.alert_open()
    no_console_problems(ui)


IMPORTED = "imported.uitest."


def sign_in_as_admin(ui):
    b = ui.b
    b.button("Sign out").click()
    b.wait_css("input[type=password]").send_keys(KEY + Keys.ENTER)
    b.wait("the administrator signed in", lambda: "administrator key" in b.css("#who").text)
    b.get(ui.base + "/ui/")
    b.wait("the zones page", lambda: b.css("h1").text == "Zones")


def test_import_export_and_delete_a_zone(ui):
    b = ui.b
    sign_in_as_admin(ui)
    b.button("Import zone file").click()
    dlg = dialog(ui)
    text = "\n".join([f"$ORIGIN {IMPORTED}", "$TTL 300", "@ SOA ns1 host 1 7200 900 604800 300",
                      "@ NS ns1.example.net.", "www A 192.0.2.300", ""])
    path = ui.work / "imported.zone"
    path.write_text(text)
    dlg.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    area = dlg.find_element(By.CSS_SELECTOR, "textarea")
    b.wait("the file read into the form", lambda: "192.0.2.300" in area.get_attribute("value"))
    name = dlg.find_element(By.CSS_SELECTOR, "input[name=name]")
    assert name.get_attribute("value") == IMPORTED  # taken from $ORIGIN
    b.button("Import", dlg).click()
    # the zone-file error, with its line and column, beside the text
    err = b.wait("the zone file's error", lambda: b.field_error(area))
    assert err.startswith("line 5, column") and "192.0.2.300" in err, err
    b.screenshot("19-import-error")
    area.clear()
    area.send_keys(text.replace("192.0.2.300", "192.0.2.30"))
    b.button("Import", dlg).click()
    b.wait("the imported zone", lambda: b.css("h1").text == IMPORTED)
    assert "192.0.2.30" in b.css("table.records").text
    downloads = ui.work / "downloads"
    downloads.mkdir()
    b.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    b.button("Export").click()
    got = b.wait("the exported file", lambda: (downloads / f"{IMPORTED}zone").exists()
                 and (downloads / f"{IMPORTED}zone").read_text())
    assert got == api(ui, "GET", f"/api/v1/servers/localhost/zones/{IMPORTED}/export").text
    b.button("Delete zone").click()
    dlg = dialog(ui)
    confirm = dlg.find_element(By.CSS_SELECTOR, "input")
    confirm.send_keys("not-the-name")
    b.button("Delete the zone", dlg).click()
    b.wait("the name asked for", lambda: IMPORTED in b.field_error(confirm))
    assert api(ui, "GET", f"/api/v1/servers/localhost/zones/{IMPORTED}").status_code == 200
    confirm.clear()
    confirm.send_keys(IMPORTED)
    b.button("Delete the zone", dlg).click()
    b.wait("the zones page", lambda: b.css("h1").text == "Zones")
    b.wait("the list without it", lambda: IMPORTED not in b.css("main").text and ZONE in b.css("main").text)
    assert api(ui, "GET", f"/api/v1/servers/localhost/zones/{IMPORTED}").status_code == 404
    no_console_problems(ui)


def test_a_policy_and_a_webhook_with_their_field_errors(ui):
    b = ui.b
    b.css("#nav a[href='/ui/policies']").click()
    b.wait("the policies", lambda: b.all(".policy"))
    b.button("Create policy").click()
    dlg = dialog(ui)
    dlg.find_element(By.XPATH, ".//label[text()='Name']/following-sibling::input").send_keys("slow")
    refresh = dlg.find_element(By.XPATH, ".//label[text()='Signature refresh (s)']/following-sibling::input")
    refresh.send_keys("99999999")
    b.button("Create policy", dlg).click()
    err = b.wait("the policy's field error", lambda: b.field_error(refresh))
    assert err == "must be less than signatureValidity", err
    b.screenshot("20-policy-field-error")
    refresh.clear()
    refresh.send_keys("86400")
    b.button("Create policy", dlg).click()
    b.wait("the new policy", lambda: any(p.find_element(By.CSS_SELECTOR, "h2").text == "slow" for p in b.all(".policy")))
    assert api(ui, "GET", "/api/v1/servers/localhost/policies/slow").json()["signatureRefresh"] == 86400
    b.css("#nav a[href='/ui/webhooks']").click()
    b.wait("the webhooks", lambda: b.css("h1").text == "Webhooks")
    b.button("Add webhook").click()
    dlg = dialog(ui)
    url = dlg.find_element(By.CSS_SELECTOR, "input[type=url]")
    url.send_keys("ftp://hooks.example.com/x")
    dlg.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("a secret")
    b.button("Add webhook", dlg).click()
    assert b.wait("the URL's error", lambda: b.field_error(url)).startswith("required, an http:// or https:// URL")
    url.clear()
    url.send_keys("https://hooks.example.com/x")
    b.button("Add webhook", dlg).click()
    b.wait("the webhook", lambda: "https://hooks.example.com/x" in b.css("table.webhooks").text)
    [w] = api(ui, "GET", "/api/v1/servers/localhost/webhooks").json()
    assert w["secret"] == "set" and w["url"] == "https://hooks.example.com/x"
    no_console_problems(ui)


def test_the_screenshots_are_there(ui):
    names = sorted(os.listdir(uilib.SHOTS))
    for n in ("01-sign-in", "05-records", "07-dnssec-enabled", "10-refusal", "11-disabling",
              "18-read-only-dnssec"):
        assert f"{n}-desktop.png" in names and f"{n}-phone.png" in names, names
