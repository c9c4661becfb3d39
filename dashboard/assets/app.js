// claude-orchestra dashboard. Plain JavaScript, no dependencies, no inline script (the
// Content-Security-Policy forbids it). Every piece of user-supplied text reaches the page
// through textContent, never as HTML.
"use strict";

const agents = new Map();
const sessions = new Map();
let lastSeq = 0;
let socket = null;
let logSocket = null;
let info = { repo: "" };

const $ = (id) => document.getElementById(id);

/** Builds an element; `text` is set as text, never parsed as HTML. */
function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [key, value] of Object.entries(props.attrs || {})) node.setAttribute(key, value);
  if (props.onclick) node.addEventListener("click", props.onclick);
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function duration(agent) {
  if (!agent.started_at_ms) return "";
  const end = agent.ended_at_ms || Date.now();
  const s = Math.max(0, Math.round((end - agent.started_at_ms) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// ---- live updates -------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = lastSeq ? `?since=${lastSeq}` : "";
  socket = new WebSocket(`${scheme}://${location.host}/ws${since}`);
  socket.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn live"; };
  socket.onmessage = (message) => apply(JSON.parse(message.data));
  socket.onclose = () => {
    $("conn").textContent = "reconnecting…";
    $("conn").className = "conn";
    setTimeout(connect, 1000);
  };
}

function apply(event) {
  if (event.type === "error") { $("conn").textContent = event.message; return; }
  if (window.needsYou) window.needsYou.apply(event, api);
  if (event.type === "approval") { if (event.seq) lastSeq = event.seq; return; }
  if (event.type === "resync") { lastSeq = 0; socket.close(); return; }
  if (event.seq) lastSeq = event.seq;
  if (event.type === "snapshot") {
    agents.clear();
    sessions.clear();
    for (const a of event.agents || []) agents.set(a.id, a);
    for (const s of event.sessions || []) sessions.set(s.session_id, s);
  } else if (event.type === "agent" && event.agent) {
    // "removed": the agent was forgotten (`orchestractl forget`).
    if (event.kind === "removed") agents.delete(event.agent.id);
    else agents.set(event.agent.id, event.agent);
  } else if (event.type === "notification" && event.notification) {
    notified(event.notification);
    return;
  } else if (event.type === "session" && event.session) {
    if (event.kind === "removed") sessions.delete(event.session.session_id);
    else sessions.set(event.session.session_id, event.session);
  }
  renderAgents();
  if (!$("search").value) renderSessions();
}

// ---- agents -------------------------------------------------------------------------

// Cards are created once per agent and updated in place, so a button a thumb is about to
// tap is never swapped for a new one by a live update.
const cards = new Map();

function createCard(agent) {
  const part = (cls, tag = "div") => el(tag, { class: cls });
  const card = el("li", { class: "card agent", attrs: { "data-agent-id": agent.id } });
  const head = el("div", { class: "card-head" });
  const badge = part("badge", "span");
  const stop = el("button", { class: "danger", text: "Stop", attrs: { type: "button", "data-action": "stop" }, onclick: () => stopAgent(agents.get(agent.id)) });
  const refs = {
    badge,
    cost: part("cost", "span"),
    time: part("time", "span"),
    task: el("div", { class: "card-title task", text: agent.task }),
    activity: part("card-line activity"),
    branch: part("card-line branch"),
    stop,
  };
  head.append(badge, el("span", { text: agent.id }), el("span", { class: "spacer" }), refs.cost, refs.time);
  const actions = el("div", { class: "card-actions" }, [
    el("button", { text: "Logs", attrs: { type: "button", "data-action": "logs" }, onclick: () => openLogs(agents.get(agent.id)) }),
    el("button", { text: "Send", attrs: { type: "button", "data-action": "send" }, onclick: () => openSend(agents.get(agent.id)) }),
    stop,
  ]);
  card.append(head, refs.task, refs.activity, refs.branch, actions);
  cards.set(agent.id, { card, refs });
  return cards.get(agent.id);
}

function updateCard({ card, refs }, agent) {
  const active = ["queued", "starting", "running", "waiting"].includes(agent.state);
  card.setAttribute("data-state", agent.state);
  refs.badge.className = `badge state-${agent.state}`;
  refs.badge.textContent = agent.state;
  refs.cost.textContent = `$${(agent.total_cost_usd || 0).toFixed(2)}`;
  refs.time.textContent = duration(agent);
  const refused = (agent.permission_denials || []).length && agent.state !== "waiting"
    ? `refused: ${agent.permission_denials.join("; ")}` : "";
  refs.activity.textContent = agent.error || refused || agent.activity || "";
  refs.branch.textContent = agent.branch || "";
  // The overlap radar and `--after` chains: marked on the card itself.
  const overlaps = agent.overlaps || [];
  card.classList.toggle("overlap", overlaps.length > 0);
  const relations = overlaps.map((o) => `⚠ also changed by ${o.agent_id}: ${o.paths.join(", ")}`);
  if (agent.after) relations.push(`runs after ${agent.after}`);
  if (relations.length) refs.branch.textContent = [agent.branch || "", ...relations].filter(Boolean).join(" · ");
  refs.stop.classList.toggle("hidden", !active);
}

function renderAgents() {
  const list = $("agent-list");
  const sorted = [...agents.values()].sort((a, b) => b.created_at_ms - a.created_at_ms);
  $("agents-empty").classList.toggle("hidden", sorted.length > 0);
  for (const [id, { card }] of cards) {
    if (!agents.has(id)) { card.remove(); cards.delete(id); }
  }
  sorted.forEach((agent, index) => {
    const entry = cards.get(agent.id) || createCard(agent);
    updateCard(entry, agent);
    // Move it only when it is out of place: moving a node the user is touching would
    // cancel the tap.
    if (list.children[index] !== entry.card) list.insertBefore(entry.card, list.children[index] || null);
  });
}

async function spawn(event) {
  event.preventDefault();
  const tasks = $("spawn-tasks").value.split("\n").map((t) => t.trim()).filter(Boolean);
  $("spawn-error").textContent = "";
  if (!tasks.length) { $("spawn-error").textContent = "Write at least one task."; return; }
  try {
    const created = await api("POST", "/api/agents", {
      tasks,
      repo: $("spawn-repo").value,
      parallel: Number($("spawn-parallel").value) || 0,
    });
    // The live stream may already have newer states than this answer: never go back.
    for (const a of created) if (!agents.has(a.id)) agents.set(a.id, a);
    $("spawn-tasks").value = "";
    renderAgents();
  } catch (err) {
    $("spawn-error").textContent = err.message;
  }
}

async function stopAgent(agent) {
  try { await api("POST", `/api/agents/${encodeURIComponent(agent.id)}/stop`); }
  catch (err) { $("spawn-error").textContent = err.message; }
}

// ---- the panel (logs, send, transcripts) --------------------------------------------

function openPanel(title, { input, placeholder, submit, onSubmit } = {}) {
  closeLogs();
  $("panel-title").textContent = title;
  $("panel-body").replaceChildren();
  $("panel-error").textContent = "";
  $("panel-form").classList.toggle("hidden", !input);
  $("panel-input").value = "";
  $("panel-input").placeholder = placeholder || "";
  $("panel-submit").textContent = submit || "Send";
  $("panel-form").onsubmit = async (event) => {
    event.preventDefault();
    $("panel-error").textContent = "";
    try { await onSubmit($("panel-input").value); $("panel-input").value = ""; }
    catch (err) { $("panel-error").textContent = err.message; }
  };
  $("panel").classList.remove("hidden");
}

function closeLogs() {
  if (logSocket) { logSocket.onclose = null; logSocket.close(); logSocket = null; }
}

function message(role, text, cls) {
  return el("div", { class: `msg ${cls || role}` }, [el("span", { class: "role", text: role }), document.createTextNode(text)]);
}

function openLogs(agent) {
  openPanel(`Logs · ${agent.task}`, {
    input: true, placeholder: "Follow-up message", submit: "Send",
    onSubmit: (text) => api("POST", `/api/agents/${encodeURIComponent(agent.id)}/send`, { message: text }),
  });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  logSocket = new WebSocket(`${scheme}://${location.host}/ws/logs/${encodeURIComponent(agent.id)}?events=1`);
  logSocket.onmessage = (event) => {
    const body = $("panel-body");
    const parsed = JSON.parse(event.data);
    if (parsed.type === "end") return;
    if (parsed.type === "error") { $("panel-error").textContent = parsed.message; return; }
    const nearBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    for (const e of parsed.events || []) { const node = window.transcript.render(e); if (node) body.appendChild(node); }
    if (nearBottom) body.scrollTop = body.scrollHeight;
  };
}

function openSend(agent) {
  openPanel(`Send · ${agent.task}`, {
    input: true, placeholder: "Follow-up message", submit: "Send",
    onSubmit: async (text) => {
      await api("POST", `/api/agents/${encodeURIComponent(agent.id)}/send`, { message: text });
      $("panel").classList.add("hidden");
    },
  });
  $("panel-body").appendChild(el("p", { class: "card-line", text: agent.activity || "" }));
}

// ---- sessions -----------------------------------------------------------------------

// Busy sessions first, then the other live ones, then the rest.
function liveRank(s) {
  if (!s.live) return 2;
  return s.live_status === "busy" ? 0 : 1;
}

function sessionCost(s) {
  if (s.cost_usd === undefined) return "";
  return `${s.cost_is_estimate ? "~" : ""}$${s.cost_usd.toFixed(2)}`;
}

function sessionCard(s, snippet) {
  return el("li", { class: "card session", attrs: { "data-session-id": s.session_id, "data-live-status": s.live_status || "" } }, [
    el("div", { class: "card-head" }, [
      // The CLI's own word for what it is doing (busy, idle, ...), else just "live".
      s.live ? el("span", { class: `badge live-badge ${s.live_status || ""}`, text: s.live_status || "live" }) : null,
      // Claude Code's own background session: its job id and state.
      s.job_id ? el("span", { class: "badge job-badge", text: `bg ${s.job_id} ${s.job_state}` }) : null,
      el("span", { text: s.session_id.slice(0, 8) }),
      el("span", { class: "spacer" }),
      el("span", { text: sessionCost(s) }),
      el("span", { text: ago(s.modified_at_ms || s.timestamp_ms) }),
    ]),
    // A background session is known by its name; a `-p` run's derived name ("repo-68")
    // says less than its prompt.
    el("div", { class: "card-title", text: snippet || s.title || (s.job_id || s.live_kind === "bg" ? s.name : "") || s.first_prompt || s.name || "(no prompt)" }),
    el("div", { class: "card-line", text: s.project_path || "" }),
  ]);
}

function renderSessions() {
  const list = $("session-list");
  list.replaceChildren();
  const sorted = [...sessions.values()].sort((a, b) => (liveRank(a) - liveRank(b)) || (b.modified_at_ms - a.modified_at_ms));
  $("sessions-empty").classList.toggle("hidden", sorted.length > 0);
  for (const s of sorted) {
    const card = sessionCard(s);
    card.addEventListener("click", () => openTranscript(s.session_id));
    list.appendChild(card);
  }
}

async function search(event) {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) { renderSessions(); return; }
  const list = $("session-list");
  try {
    const data = await api("GET", `/api/sessions?q=${encodeURIComponent(q)}`);
    list.replaceChildren();
    $("sessions-empty").classList.toggle("hidden", data.hits.length > 0);
    for (const hit of data.hits) {
      const card = sessionCard({ session_id: hit.session_id, project_path: hit.project_path, timestamp_ms: hit.timestamp_ms }, hit.snippet);
      card.addEventListener("click", () => openTranscript(hit.session_id));
      list.appendChild(card);
    }
  } catch (err) {
    list.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

async function openTranscript(id) {
  openPanel("Transcript", {
    input: true, placeholder: "Resume with a prompt (optional)", submit: "Resume",
    onSubmit: async (text) => {
      const resumed = await api("POST", `/api/sessions/${encodeURIComponent(id)}/resume`, { prompt: text });
      $("panel-body").appendChild(message("resumed", `as agent ${resumed.agent_id} in ${resumed.cwd}`, "result"));
    },
  });
  try {
    const data = await api("GET", `/api/sessions/${encodeURIComponent(id)}/transcript`);
    const s = data.session || {};
    $("panel-title").textContent = s.title || s.first_prompt || id;
    const body = $("panel-body");
    body.appendChild(el("p", { class: "card-line", text: `${s.project_path || ""} · ${s.git_branch || ""} · ${data.total} messages` }));
    for (const m of data.messages) {
      const role = m.role === "tool_result" ? (m.is_error ? "tool error" : "tool result") : m.role;
      body.appendChild(message(role, m.text || "", m.role));
      for (const call of m.tool_calls || []) body.appendChild(message("tool call", call, "tool"));
    }
  } catch (err) {
    $("panel-error").textContent = err.message;
  }
}

// ---- worktrees ----------------------------------------------------------------------

async function loadWorktrees() {
  const list = $("worktree-list");
  try {
    const data = await api("GET", `/api/worktrees?repo=${encodeURIComponent($("spawn-repo").value)}`);
    list.replaceChildren();
    $("worktrees-empty").classList.toggle("hidden", data.worktrees.length > 0);
    for (const w of data.worktrees) {
      const d = w.diff || {};
      list.appendChild(el("li", { class: "card" }, [
        el("div", { class: "card-head" }, [
          el("span", { class: `badge state-${w.agent_state}`, text: w.agent_state }),
          el("span", { text: w.agent_id }),
          el("span", { class: "spacer" }),
          w.merged ? el("span", { class: "badge state-done", text: "merged" }) : null,
        ]),
        el("div", { class: "card-title", text: w.branch }),
        el("div", { class: "card-line", text: `${d.files_changed || 0} files, +${d.insertions || 0} −${d.deletions || 0}, ${d.commits || 0} commits${d.uncommitted ? ", uncommitted changes" : ""}` }),
        el("div", { class: "card-line", text: w.path }),
      ]));
    }
  } catch (err) {
    list.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

async function cleanup(dryRun) {
  const plan = $("cleanup-plan");
  try {
    const data = await api("POST", "/api/cleanup", { repo: $("spawn-repo").value, dry_run: dryRun });
    plan.replaceChildren();
    for (const a of data.actions) {
      const what = a.remove_worktree ? `${dryRun ? "would remove" : "removed"} ${a.worktree}` : `keeps ${a.worktree}: ${a.skipped}`;
      plan.appendChild(el("li", { text: what }));
    }
    if (!data.actions.length) plan.appendChild(el("li", { text: "nothing to clean up" }));
    $("do-cleanup").classList.toggle("hidden", !dryRun || !data.actions.some((a) => a.remove_worktree));
    if (!dryRun) loadWorktrees();
  } catch (err) {
    plan.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

// ---- start --------------------------------------------------------------------------

function showTab(name) {
  for (const button of document.querySelectorAll("nav button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.id === name);
  if (name === "worktrees") loadWorktrees();
}

document.addEventListener("DOMContentLoaded", async () => {
  for (const button of document.querySelectorAll("nav button")) button.addEventListener("click", () => showTab(button.dataset.tab));
  $("spawn-form").addEventListener("submit", spawn);
  $("search-form").addEventListener("submit", search);
  $("search").addEventListener("input", () => { if (!$("search").value) renderSessions(); });
  $("panel-close").addEventListener("click", () => { closeLogs(); $("panel").classList.add("hidden"); });
  $("refresh-worktrees").addEventListener("click", loadWorktrees);
  $("preview-cleanup").addEventListener("click", () => cleanup(true));
  $("do-cleanup").addEventListener("click", () => cleanup(false));
  try {
    info = await api("GET", "/api/info");
    $("spawn-repo").value = info.repo || "";
    // Over TLS: the certificate's fingerprint, to compare with what the terminal printed.
    if (info.fingerprint_sha256) {
      $("cert-fingerprint").textContent = `Certificate SHA-256: ${info.fingerprint_sha256}`;
      $("cert-fingerprint").classList.remove("hidden");
    }
  } catch (err) {
    $("spawn-error").textContent = err.message;
  }
  setInterval(renderAgents, 1000);
  connect();
  // The service worker (installable app, notification clicks); secure contexts only.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }
});
