/// The live dashboard: one self-contained page (no external assets) that reads the JSON API and the
/// event stream of `OperatorHTTPServer`. Everything the server sends is inserted as text, except the
/// timeline, which the server escapes (`HTMLReport`).
enum DashboardPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>abm — campaigns</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--muted:#6b7385;--line:#e4e7ec;--accent:#2f6fdf;
--active:#2a9d4b;--paused:#e0a100;--completed:#6b7385;--cancelled:#c0392b;--parked:#8e44ad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--ink)}
header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;align-items:center;gap:16px}
header h1{font-size:17px;margin:0;font-weight:600}
header .live{margin-left:auto;font-size:12px;color:#b8c0d0}
header .dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#888;margin-right:6px}
header .dot.on{background:#3ccf6e}
#explain h3{font-size:13px;margin:12px 0 4px}
#explain pre{white-space:pre-wrap;background:#f6f7f9;border:1px solid var(--line);border-radius:6px;padding:8px;font-size:12px}
main{padding:16px 24px;display:grid;grid-template-columns:minmax(420px,5fr) 7fr;gap:16px}
.stats{grid-column:1/-1;display:flex;flex-wrap:wrap;gap:10px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:104px}
.stat b{display:block;font-size:20px;font-weight:600}
.stat span{font-size:12px;color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0}
.card h2{font-size:14px;margin:0 0 10px;font-weight:600}
.tabs{display:flex;gap:4px;flex-wrap:wrap;margin-bottom:8px}
.tabs button{border:1px solid var(--line);background:#fff;border-radius:14px;padding:3px 10px;cursor:pointer;font-size:12px}
.tabs button.on{background:var(--accent);border-color:var(--accent);color:#fff}
input[type=search]{width:100%;padding:6px 10px;border:1px solid var(--line);border-radius:6px;margin-bottom:8px;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 6px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px}
tbody tr.row{cursor:pointer} tbody tr.row:hover{background:#f0f4ff} tbody tr.sel{background:#e6eeff}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;color:#fff;background:var(--muted)}
.badge.active{background:var(--active)} .badge.paused{background:var(--paused)} .badge.completed{background:var(--completed)}
.badge.cancelled{background:var(--cancelled)} .badge.parked{background:var(--parked)}
.actions{display:flex;gap:8px;margin:8px 0 12px}
.actions button,.retry{border:1px solid var(--line);background:#fff;border-radius:6px;padding:5px 14px;cursor:pointer;font-size:13px}
.actions button:hover,.retry:hover{border-color:var(--accent);color:var(--accent)}
.actions button:disabled{opacity:.4;cursor:default}
.muted{color:var(--muted)} .pager{display:flex;justify-content:space-between;align-items:center;margin-top:8px;font-size:12px}
#events{max-height:260px;overflow:auto;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace}
#events div{padding:2px 0;border-bottom:1px dashed var(--line);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#timeline{overflow-x:auto} #timeline svg{max-width:100%;height:auto} #timeline table{margin-top:8px}
#timeline .legend span{margin-right:12px;font-size:12px} .swatch{width:.8em;height:.8em;border-radius:50%;display:inline-block;margin-right:4px}
.side{display:flex;flex-direction:column;gap:16px;min-width:0}
.msg{font-size:12px;margin-left:8px}
</style></head>
<body>
<header><h1>abm · campaigns</h1><span class="muted" id="clock"></span>
<span class="live"><span class="dot" id="dot"></span><span id="livetext">connecting…</span></span></header>
<main>
<section class="stats" id="stats"></section>
<section class="card">
  <h2>Campaigns</h2>
  <div class="tabs" id="tabs"></div>
  <input type="search" id="search" placeholder="Search by account id prefix…" autocomplete="off">
  <table><thead><tr><th>Account</th><th>Status</th><th>Since</th></tr></thead><tbody id="list"></tbody></table>
  <div class="pager"><span class="muted" id="pageinfo"></span><span><button class="retry" id="first">First</button> <button class="retry" id="next">Next ›</button></span></div>
</section>
<div class="side">
  <section class="card" id="detail"><h2>Campaign</h2><p class="muted">Select a campaign in the list.</p></section>
  <section class="card"><h2>Playbooks</h2><table><thead><tr><th>Playbook</th><th>Latest</th><th>Migrate running campaigns to</th></tr></thead><tbody id="playbooks"></tbody></table><span class="msg muted" id="pbmsg"></span></section>
  <section class="card"><h2>Parked campaigns</h2><table><tbody id="parked"></tbody></table></section>
  <section class="card"><h2>Live events</h2><div id="events"><p class="muted">Waiting for events…</p></div></section>
</div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => { const e = document.createElement(tag); Object.assign(e, props);
  for (const k of kids) e.append(k); return e; };
const state = { status: "", parked: null, prefix: "", after: null, pages: [], selected: null };
const tabs = [["All", "", null], ["Active", "active", null], ["Paused", "paused", null],
  ["Completed", "completed", null], ["Cancelled", "cancelled", null], ["Parked", "", true]];

async function api(path, options) {
  const r = await fetch(path, options);
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
  return body;
}
function short(t) { return t ? t.replace("T", " ").replace(/:\d\d\.\d+Z$/, "Z") : ""; }
function badge(status, parked) {
  const b = el("span", { className: "badge " + status, textContent: status });
  return parked ? [b, " ", el("span", { className: "badge parked", textContent: "parked" })] : [b];
}

function renderTabs() {
  $("tabs").replaceChildren(...tabs.map(([label, status, parked]) => el("button", {
    textContent: label, className: state.status === status && state.parked === parked ? "on" : "",
    onclick: () => { state.status = status; state.parked = parked; state.after = null; state.pages = []; renderTabs(); loadList(); } })));
}

async function loadStats() {
  const s = await api("/api/stats");
  const items = [["active", s.campaigns.active], ["paused", s.campaigns.paused], ["completed", s.campaigns.completed],
    ["cancelled", s.campaigns.cancelled], ["total", s.campaigns.total], ["in memory", s.resident],
    ["passivated", s.passivated], ["timers pending", s.timers.pending], ["timers overdue", s.timers.overdue],
    ["parked", s.parked], ["outbox lag", s.outbox.lag]];
  $("stats").replaceChildren(...items.map(([label, n]) => el("div", { className: "stat" },
    el("b", { textContent: String(n) }), el("span", { textContent: label }))));
}

async function loadList() {
  const q = new URLSearchParams({ limit: "15" });
  if (state.status) q.set("status", state.status);
  if (state.parked !== null) q.set("parked", String(state.parked));
  if (state.prefix) q.set("account", state.prefix);
  if (state.after) q.set("after", state.after);
  const page = await api("/api/campaigns?" + q);
  $("list").replaceChildren(...page.campaigns.map((c) => {
    const tr = el("tr", { className: "row" + (c.account_id === state.selected ? " sel" : ""),
      onclick: () => select(c.account_id) },
      el("td", { textContent: c.account_id }), el("td", {}, ...badge(c.status, c.parked)),
      el("td", { className: "muted", textContent: short(c.status_since) }));
    tr.dataset.account = c.account_id;
    return tr;
  }));
  if (page.campaigns.length === 0) $("list").replaceChildren(el("tr", {}, el("td", { className: "muted", colSpan: 3, textContent: "No campaigns." })));
  $("pageinfo").textContent = "page " + (state.pages.length + 1);
  $("next").disabled = !page.next;
  $("next").onclick = () => { state.pages.push(state.after); state.after = page.next; loadList(); };
}

async function loadParked() {
  const page = await api("/api/campaigns?parked=true&limit=20");
  if (page.campaigns.length === 0) { $("parked").replaceChildren(el("tr", {}, el("td", { className: "muted", textContent: "None: every campaign runs." }))); return; }
  $("parked").replaceChildren(...page.campaigns.map((c) => el("tr", {},
    el("td", { textContent: c.account_id }), el("td", {}, ...badge(c.status, false)),
    el("td", {}, el("button", { className: "retry", textContent: "Retry", onclick: () => command(c.account_id, "retry") })))));
}

async function loadPlaybooks() {
  const r = await api("/api/playbooks");
  $("playbooks").replaceChildren(...r.playbooks.map((p) => {
    const pick = el("select", { id: "pb-" + p.name }, ...p.versions.map((v) => el("option", { value: String(v), textContent: "v" + v, selected: v === p.latest })));
    return el("tr", {}, el("td", { textContent: p.name + (p.accepts_leads ? "" : " (no longer configured)") }),
      el("td", { textContent: "v" + p.latest }),
      el("td", {}, pick, " ", el("button", { className: "retry", id: "migrate-" + p.name, textContent: "Migrate",
        onclick: () => migrate(p.name, pick.value) })));
  }));
}

async function migrate(playbook, version) {
  try {
    const r = await api("/api/migrate?playbook=" + encodeURIComponent(playbook) + "&to=" + version,
      { method: "POST", headers: { "X-ABM-Dashboard": "1" } });
    $("pbmsg").textContent = r.migrated.campaigns + " running campaign(s) of " + playbook + " move to v" + version + " at their next step";
  } catch (e) { $("pbmsg").textContent = "migrate refused: " + e.message; }
  await refresh();
}

async function select(account) {
  state.selected = account;
  for (const tr of document.querySelectorAll("#list tr.row")) tr.classList.toggle("sel", tr.dataset.account === account);
  await loadDetail();
}

async function loadDetail() {
  const account = state.selected;
  if (!account) return;
  let c;
  try { c = await api("/api/campaign?account=" + encodeURIComponent(account)); }
  catch (e) { $("detail").replaceChildren(el("h2", { textContent: account }), el("p", { className: "muted", textContent: e.message })); return; }
  const buttons = [["Pause", "pause", c.status === "active"], ["Resume", "resume", c.status === "paused" || c.parked],
    ["Cancel", "cancel", c.status === "active" || c.status === "paused"], ["Step now", "step", c.status === "active" && !!c.next_touch]];
  if (c.parked) buttons.push(["Retry", "retry", true]);
  const actions = el("div", { className: "actions" }, ...buttons.map(([label, action, enabled]) =>
    el("button", { textContent: label, disabled: !enabled, id: "btn-" + action, onclick: () => command(account, action) })),
    el("span", { className: "msg muted", id: "msg" }));
  const contacts = el("table", {}, el("thead", {}, el("tr", {}, ...["Contact", "State", "Touches", "Last touch"].map((h) => el("th", { textContent: h })))),
    el("tbody", {}, ...c.contacts.map((p) => el("tr", {}, el("td", { textContent: p.email }), el("td", { textContent: p.state }),
      el("td", { textContent: String(p.touches) }), el("td", { className: "muted", textContent: short(p.last_touch_at) })))));
  const next = c.next_touch ? "next: " + c.next_touch.channel + " to " + c.next_touch.email + " at " + short(c.next_touch.due_at) : "no touch scheduled";
  const pb = c.playbook ? "playbook " + c.playbook.name + " v" + c.playbook.version + (c.playbook.migrating_to ? " → v" + c.playbook.migrating_to + " at its next step" : "") : null;
  const beside = (c.others || []).map((o) => o.playbook.name + " (" + o.campaign_id + ", " + o.status + ")").join(", ");
  const holder = el("p", { className: "muted", id: "playbook" }, [pb, beside ? "also running: " + beside : null,
    c.account_next ? "next touch of the account: " + c.account_next.why : null].filter((part) => part).join(" · "));
  const timeline = el("div", { id: "timeline" });
  timeline.innerHTML = await (await fetch("/api/timeline?account=" + encodeURIComponent(account))).text();
  for (const svg of timeline.querySelectorAll("svg")) {  // scale the report's fixed-size chart to the card
    svg.setAttribute("viewBox", "0 0 " + svg.getAttribute("width") + " " + svg.getAttribute("height"));
    svg.removeAttribute("width"); svg.removeAttribute("height"); svg.style.width = "100%";
  }
  // Why: every decision with its rule (explain), then the next touch as it would go out (preview).
  const why = el("div", { id: "explain" });
  try {
    const x = await api("/api/explain?account=" + encodeURIComponent(account));
    const rows = x.decisions.concat(x.next ? [x.next] : []).map((d) =>
      el("tr", {}, el("td", { className: "muted", textContent: short(d.at) }), el("td", { textContent: d.decision }),
        el("td", { textContent: d.text })));
    why.append(el("h3", { textContent: "Why" }), el("table", {}, el("tbody", {}, ...rows)));
    const t = x.preview && x.preview.touch;
    if (t) why.append(el("h3", { textContent: "Next message (preview)" }),
      el("p", { className: "muted", textContent: t.channel + " to " + t.contact_email + " · " + t.local_time + " " + t.timezone + (t.subject ? " · " + t.subject : "") }),
      el("pre", { id: "preview", textContent: t.message }));
  } catch (e) { why.append(el("p", { className: "muted", textContent: e.message })); }
  $("detail").replaceChildren(el("h2", {}, account + " ", ...badge(c.status, c.parked)),
    el("p", { className: "muted", textContent: [c.company, c.topic, c.steps + (c.steps === 1 ? " touch" : " touches") + " sent", next,
      c.reason ? "reason: " + c.reason : null].filter((part) => part).join(" · ") }), holder, actions, contacts, why, timeline);
}

async function command(account, action) {
  try {
    await api("/api/command?account=" + encodeURIComponent(account) + "&action=" + action,
      { method: "POST", headers: { "X-ABM-Dashboard": "1" } });
  } catch (e) { if ($("msg")) $("msg").textContent = action + " refused: " + e.message; }
  await refresh();
}

async function refresh() {
  await Promise.all([loadStats(), loadList(), loadParked(), loadPlaybooks(), loadDetail()].map((p) => p.catch((e) => console.error(e))));
}

let pending = null;
function refreshSoon() { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 300); }

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => { $("dot").className = "dot on"; $("livetext").textContent = "live"; };
  source.onerror = () => { $("dot").className = "dot"; $("livetext").textContent = "reconnecting…"; };
  source.onmessage = (m) => { showEvent(JSON.parse(m.data), m.data); refreshSoon(); };
}

let lastSeq = 0;
function showEvent(e, raw) {
  if (e.seq <= lastSeq) return;  // already shown (the recent ones and the stream can overlap)
  lastSeq = e.seq;
  const box = $("events");
  if (box.firstElementChild && box.firstElementChild.tagName === "P") box.replaceChildren();
  const what = e.type + "  " + e.account_id + (e.contact_email ? "  " + e.contact_email : "") + (e.channel ? "  " + e.channel : "");
  box.prepend(el("div", { title: raw, textContent: "#" + e.seq + "  " + short(e.at) + "  " + what }));
  while (box.childElementCount > 60) box.lastElementChild.remove();
  $("clock").textContent = "campaign time " + short(e.at);
}

async function loadRecent() {
  for (const e of await api("/api/recent?limit=30")) showEvent(e, JSON.stringify(e));
}

$("search").addEventListener("input", (ev) => { state.prefix = ev.target.value.trim(); state.after = null; state.pages = []; loadList(); });
$("first").onclick = () => { state.after = null; state.pages = []; loadList(); };
renderTabs();
refresh();
setInterval(refresh, 5000);
connect();
loadRecent().catch((e) => console.error(e));
</script>
</body></html>
"""#
}
