// The orchestra dashboard. Every piece of task data reaches the page as a text node (el()
// and text()), never as markup: a prompt holding <script> is shown as those characters.
"use strict";

const state = { spaces: [], tasks: {}, sort: "created_at", desc: true, filters: {}, due: {} };
const $ = (id) => document.getElementById(id);

// Control characters shown as their pictures (U+2400...), as the server does for logs.
function text(value) {
  if (value === null || value === undefined) return "";
  return String(value).replace(/[\u0000-\u0008\u000b-\u001f]/g,
    (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
    .replace(/\u007f/g, "\u2421").replace(/[\u0080-\u009f]/g, "\ufffd");
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, text(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(text(child)));
  }
  return node;
}

function say(message, error) {
  const box = $("message");
  box.textContent = text(message || "");
  box.className = error ? "error" : "";
}

async function get(path) {
  const answer = await fetch(path, { credentials: "same-origin" });
  const data = await answer.json();
  if (!answer.ok) throw new Error(data.error || answer.statusText);
  return data;
}

async function post(action, body) {
  const answer = await fetch("/api/" + action, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await answer.json();
  if (!answer.ok) { say(data.error, true); return null; }
  say([data.output, data.warnings].filter(Boolean).join("\n"));
  return data;
}

// -- time and numbers ---------------------------------------------------------------------

function seconds(iso) { return iso ? Date.parse(iso) / 1000 : null; }
function human(s) {
  if (s === null || s === undefined) return "-";
  s = Math.max(0, Math.round(s));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  return Math.floor(s / 86400) + "d" + Math.floor(s % 86400 / 3600) + "h";
}
function now() { return Date.now() / 1000; }
function runTime(t) {
  const start = seconds(t.started_at);
  if (start === null) return null;
  return (seconds(t.finished_at) || now()) - start;
}
function cost(v) { return v === null || v === undefined ? "" : "$" + v.toFixed(2); }

// -- workspaces and the queue -------------------------------------------------------------

function chosen() { return $("workspace").value; }
function spacesShown() {
  return chosen() === "all" ? state.spaces.filter((s) => s.ok) : state.spaces.filter((s) => String(s.id) === chosen());
}

async function loadSpaces() {
  state.spaces = await get("/api/workspaces");
  const select = $("workspace"), was = select.value;
  select.replaceChildren(el("option", { value: "all" }, "all"),
    ...state.spaces.map((s) => el("option", { value: s.id }, s.name + (s.ok ? "" : " (unreadable)"))));
  select.value = was || "all";
  $("spaces").replaceChildren(...state.spaces.filter((s) => !s.ok).map((s) =>
    el("div", { class: "gone" }, "workspace " + s.name + ": " + s.error)));
}

async function loadTasks(id) {
  try { state.tasks[id] = await get("/api/tasks?w=" + id); }
  catch (e) { state.tasks[id] = []; }
}

async function loadAll() {
  await loadSpaces();
  await Promise.all(state.spaces.filter((s) => s.ok).map((s) => loadTasks(s.id)));
}

const COLUMNS = [
  ["short_id", "id"], ["agent", "agent"], ["status", "status"], ["created_at", "age"],
  ["run", "run time"], ["progress", "plan"], ["cost_usd", "cost"], ["branch", "branch"],
  ["changes", "+/−"], ["labels", "labels"], ["prompt", "prompt"],
];

function sortValue(t, key) {
  if (key === "run") return runTime(t) || 0;
  if (key === "progress") return t.progress ? t.progress[0] / t.progress[1] : -1;
  if (key === "changes") return t.changes ? t.changes[1] + t.changes[2] : -1;
  if (key === "labels") return (t.labels || []).join(" ");
  const v = t[key];
  return v === null || v === undefined ? "" : v;
}

function matches(t, f) {
  if (f.status && t.status !== f.status) return false;
  if (f.agent && t.agent !== f.agent) return false;
  if (f.label && !(t.labels || []).includes(f.label)) return false;
  if (f.text) {
    const hay = [t.id, t.prompt, t.error, t.branch, t.agent].join(" ").toLowerCase();
    if (!hay.includes(f.text.toLowerCase())) return false;
  }
  return true;
}

function renderQueue() {
  const all = spacesShown().flatMap((s) => state.tasks[s.id] || []);
  const f = state.filters;
  const pick = (key, values, label) => el("select", {
    onchange: (e) => { f[key] = e.target.value; renderQueue(); } },
  el("option", { value: "" }, label), ...[...new Set(values)].sort().map((v) => {
    const o = el("option", { value: v }, v); if (f[key] === v) o.selected = true; return o; }));
  const search = el("input", { type: "search", placeholder: "text", value: f.text || "",
    oninput: (e) => { f.text = e.target.value; renderRows(body, all); } });
  const columns = spacesShown().length > 1 ? [["workspace", "workspace"], ...COLUMNS] : COLUMNS;
  const head = el("tr", {}, columns.map(([key, label]) => el("th", {
    onclick: () => { state.desc = state.sort === key ? !state.desc : false; state.sort = key; renderQueue(); } },
  label + (state.sort === key ? (state.desc ? " ▾" : " ▴") : ""))));
  const body = el("tbody");
  renderRows(body, all);
  const filters = el("div", { class: "filters" },
    pick("status", ["pending", "running", "completed", "failed", "cancelled"], "any status"),
    pick("agent", all.map((t) => t.agent), "any agent"),
    pick("label", all.flatMap((t) => t.labels || []), "any label"), search);
  show(el("div", {}, filters, el("table", { id: "queue" }, el("thead", {}, head), body)));
  if (f.text) { search.focus(); }
}

function renderRows(body, all) {
  const rows = all.filter((t) => matches(t, state.filters));
  rows.sort((a, b) => {
    const x = sortValue(a, state.sort), y = sortValue(b, state.sort);
    return (x < y ? -1 : x > y ? 1 : 0) * (state.desc ? -1 : 1);
  });
  body.replaceChildren(...rows.map((t) => {
    const link = el("a", { href: "#task/" + t.workspace + "/" + t.id }, t.short_id);
    const space = spacesShown().length > 1 ? el("td", {}, (state.spaces[t.workspace] || {}).name) : null;
    const tr = el("tr", { class: "task", "data-id": t.id, "data-status": t.status },
      space, el("td", {}, link), el("td", {}, t.agent),
      el("td", { class: "status-" + t.status }, t.status + (t.reason ? " (" + t.reason + ")" : "")),
      el("td", {}, human(now() - seconds(t.created_at))), el("td", {}, human(runTime(t))),
      el("td", {}, t.progress ? t.progress[0] + "/" + t.progress[1] : ""),
      el("td", { class: "num" }, cost(t.cost_usd)), el("td", { class: "branch", title: t.branch || "" }, t.branch || ""),
      el("td", {}, t.changes ? "+" + t.changes[1] + " −" + t.changes[2] : ""),
      el("td", {}, (t.labels || []).map((l) => el("span", { class: "label" }, l))),
      el("td", { class: "prompt", title: t.prompt }, t.prompt,
        t.latest ? el("div", { class: "latest" }, "↳ " + t.latest) : null));
    return tr;
  }));
  document.body.dataset.tasks = rows.length;
}

// -- one task -----------------------------------------------------------------------------

function planNodes(plan) {
  // Minimal Markdown: headings and checklists become elements, every line stays text.
  return plan.split("\n").map((line) => {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) return el("h4", {}, heading[2]);
    const item = /^\s*(?:[-*+]|\d+[.)])\s+\[([ xX])\]\s*(.*)$/.exec(line);
    if (item) {
      const box = el("input", { type: "checkbox", disabled: "" });
      box.checked = item[1] !== " ";
      return el("li", {}, box, " ", item[2]);
    }
    return line.trim() ? el("div", {}, line) : null;
  });
}

function diffNodes(patch) {
  return patch.split("\n").map((line) => {
    const kind = line.startsWith("diff --git") ? "file" : line.startsWith("@@") ? "hunk"
      : line.startsWith("+") && !line.startsWith("+++") ? "add"
        : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    return kind ? el("span", { class: kind }, line) : line + "\n";
  });
}

async function renderTask(w, id) {
  let data;
  try { data = await get("/api/task?w=" + w + "&id=" + encodeURIComponent(id)); }
  catch (e) { show(el("p", {}, e.message)); return; }
  const t = data.task;
  const act = (name, label) => el("button", { type: "button", onclick: async () => {
    if (await post(name, { w: Number(w), id: t.id })) route(); } }, label);
  const buttons = [];
  if (t.status === "pending" || t.status === "running") buttons.push(act("cancel", "Cancel"));
  if (t.status === "failed" || t.status === "cancelled") buttons.push(act("retry", "Retry"));
  if (t.status === "completed" && t.isolation === "worktree" && t.branch && !t.merged)
    buttons.push(act("merge", "Merge"));
  const parts = [
    el("h2", {}, t.short_id + " · " + t.agent + " · ", el("span", { class: "status-" + t.status }, t.status)),
    el("div", {}, buttons),
    el("section", {}, el("h3", {}, "Prompt"), el("pre", { id: "prompt" }, t.prompt)),
  ];
  if (t.error) parts.push(el("section", {}, el("h3", {}, "Error"), el("pre", {}, t.error)));
  const sentinels = Object.entries(data.sentinels);
  if (sentinels.length) parts.push(el("section", {}, el("h3", {}, "Sentinels"),
    el("ul", {}, sentinels.map(([k, v]) => el("li", {}, "." + k + (v ? ": " + v : ""))))));
  if (data.plan) parts.push(el("section", { class: "plan" }, el("h3", {}, "Plan"), planNodes(data.plan)));
  parts.push(el("section", {}, el("h3", {}, "Events"), el("ul", {}, data.events.map((e) =>
    el("li", {}, (e.time || "").replace("T", " ").slice(0, 19) + "  " +
      (e.event === "edited" ? "edited" : (e.from || "new") + " → " + e.to) +
      (e.reason ? " (" + e.reason + ")" : "") + "  attempt " + (e.attempt || 0))))));
  parts.push(el("section", {}, el("h3", {}, "Log"), el("pre", { id: "log" }, data.log || "(no log yet)")));
  const section = el("section", { id: "diff" });
  parts.push(section);
  show(el("div", { class: "task-view" }, parts));
  if (t.status === "running") followLog(w, t.id, location.hash);
  if (t.isolation === "worktree" && t.branch) {
    try {
      const d = await get("/api/diff?w=" + w + "&id=" + encodeURIComponent(t.id));
      section.replaceChildren(el("div", {}, el("h3", {}, "Changes"),
        el("table", {}, d.files.map((f) => el("tr", {}, el("td", {}, f.path),
          el("td", { class: "num status-completed" }, "+" + f.added),
          el("td", { class: "num status-failed" }, "−" + f.removed)))),
        d.note ? el("p", { class: "dim" }, d.note) : null,
        el("pre", { class: "diff" }, diffNodes(d.patch)),
        d.cut ? el("p", { class: "dim" }, "cut short: `orchestra diff " + t.id + "` shows it whole") : null));
    } catch (e) { section.replaceChildren(el("p", { class: "dim" }, e.message)); }
  }
}

function followLog(w, id, hash) {
  // The log of a running task, again every two seconds while its page is open.
  setTimeout(async () => {
    if (location.hash !== hash || !$("log")) return;
    try {
      const data = await get("/api/task?w=" + w + "&id=" + encodeURIComponent(id));
      $("log").textContent = text(data.log || "");
      if (data.task.status === "running") followLog(w, id, hash);
    } catch (e) { /* the next transition re-renders the page */ }
  }, 2000);
}

// -- metrics ------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.appendChild(c instanceof Node ? c : document.createTextNode(text(c)));
  return node;
}

function bars(title, entries, key) {
  // entries: [[name, totals]]; one bar a name, its failed share in red.
  const width = 640, row = 20, pad = 160, max = Math.max(1, ...entries.map(([, t]) => t[key] || 0));
  const chart = svg("svg", { width, height: row * entries.length + 4, role: "img" });
  entries.forEach(([name, t], i) => {
    const v = t[key] || 0, w = (width - pad - 60) * v / max, y = i * row + 2;
    chart.appendChild(svg("text", { x: 0, y: y + 14 }, name));
    chart.appendChild(svg("rect", { class: "bar", x: pad, y, width: w, height: row - 4 }));
    if (key === "tasks" && t.failed)
      chart.appendChild(svg("rect", { class: "bar failed", x: pad, y,
        width: (width - pad - 60) * t.failed / max, height: row - 4 }));
    chart.appendChild(svg("text", { x: pad + w + 4, y: y + 14 }, key === "cost_usd" ? cost(v) : String(v)));
  });
  return el("section", {}, el("h3", {}, title), chart);
}

function totalsTable(entries) {
  const head = ["", "tasks", "done", "failed", "cancelled", "active", "median", "p90",
    "tokens in", "tokens out", "cost", "failures"];
  return el("table", { class: "metrics" }, el("tr", {}, head.map((h) => el("th", {}, h))),
    entries.map(([name, t]) => el("tr", {}, el("td", {}, name),
      [t.tasks, t.completed, t.failed, t.cancelled, t.active].map((v) => el("td", { class: "num" }, v)),
      el("td", {}, human(t.median_seconds)), el("td", {}, human(t.p90_seconds)),
      el("td", { class: "num" }, t.tokens_in ?? "-"), el("td", { class: "num" }, t.tokens_out ?? "-"),
      el("td", { class: "num" }, cost(t.cost_usd) || "-"),
      el("td", {}, Object.entries(t.failures).map(([r, n]) => r + " " + n).join(", ")))));
}

async function renderMetrics() {
  const m = await get("/api/metrics?w=" + chosen());
  const agents = Object.entries(m.agents).concat([["total", m.total]]);
  const days = Object.entries(m.days).map(([day, d]) => [day, d.total]);
  show(el("div", {}, el("h2", {}, "Per agent"), totalsTable(agents),
    bars("Tasks per agent (failed in red)", Object.entries(m.agents), "tasks"),
    bars("Cost per agent", Object.entries(m.agents), "cost_usd"),
    el("h2", {}, "Per day"), totalsTable(days),
    bars("Tasks per day (failed in red)", days, "tasks"), bars("Cost per day", days, "cost_usd")));
}

// -- a new task ---------------------------------------------------------------------------

async function renderNew() {
  const w = chosen() === "all" ? String((state.spaces.find((s) => s.ok) || { id: 0 }).id) : chosen();
  let agents = [];
  try { agents = await get("/api/agents?w=" + w); } catch (e) { say(e.message, true); }
  const field = (label, input) => [el("label", {}, label), input];
  const form = el("form", { class: "new" },
    field("agent", el("select", { name: "agent" }, agents.map((a) => el("option", { value: a }, a)))),
    field("prompt", el("textarea", { name: "prompt", required: "" })),
    field("priority", el("input", { name: "priority", type: "number", value: "0" })),
    field("timeout", el("input", { name: "timeout", placeholder: "e.g. 30m (default: the agent's)" })),
    field("depends on", el("input", { name: "depends_on", placeholder: "task ids, space-separated" })),
    field("isolation", el("select", { name: "isolation" }, el("option", { value: "" }, "default"),
      el("option", { value: "worktree" }, "worktree"), el("option", { value: "none" }, "none"))),
    field("labels", el("input", { name: "labels", placeholder: "space-separated" })),
    el("span"), el("button", { type: "submit" }, "Queue it"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (name) => form.elements[name].value.trim();
    const words = (name) => v(name).split(/\s+/).filter(Boolean);
    const body = { w: Number(w), agent: v("agent"), prompt: form.elements.prompt.value,
      priority: Number(v("priority") || 0) };
    if (v("timeout")) body.timeout = v("timeout");
    if (words("depends_on").length) body.depends_on = words("depends_on");
    if (v("isolation")) body.isolation = v("isolation");
    if (words("labels").length) body.labels = words("labels");
    if (await post("start", body)) location.hash = "#queue";
  });
  show(el("div", {}, el("h2", {}, "Queue a task in " + ((state.spaces[w] || {}).name || w)), form));
}

// -- routing and the live stream ----------------------------------------------------------

function show(node) { $("view").replaceChildren(node); }

async function route() {
  const hash = location.hash || "#queue";
  const task = /^#task\/(\d+)\/(.+)$/.exec(hash);
  try {
    if (task) await renderTask(task[1], decodeURIComponent(task[2]));
    else if (hash === "#metrics") await renderMetrics();
    else if (hash === "#new") await renderNew();
    else renderQueue();
  } catch (e) { say(e.message, true); }
}

function changed(workspace) {
  // Transitions come in bursts: one refetch of the workspace a moment after the first.
  if (state.due[workspace]) return;
  state.due[workspace] = setTimeout(async () => {
    delete state.due[workspace];
    await loadTasks(workspace);
    const hash = location.hash || "#queue";
    if (hash === "#queue") renderQueue();
    else if (hash.startsWith("#task/" + workspace + "/")) route();
  }, 150);
}

function listen() {
  const source = new EventSource("/api/events");
  source.onopen = () => { $("live").textContent = "live"; };
  source.onerror = () => { $("live").textContent = "reconnecting…"; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    document.body.dataset.lastEvent = event.task + ":" + event.to;
    changed(event.workspace);
  };
}

async function main() {
  $("workspace").addEventListener("change", route);
  for (const action of ["pause", "resume"]) {
    $(action).addEventListener("click", async () => {
      const ids = chosen() === "all" ? state.spaces.filter((s) => s.ok).map((s) => s.id) : [Number(chosen())];
      for (const w of ids) await post(action, { w });
      await loadSpaces();
    });
  }
  window.addEventListener("hashchange", route);
  try { await loadAll(); } catch (e) { say(e.message, true); }
  await route();
  listen();
  document.body.dataset.ready = "yes";
}

main();
