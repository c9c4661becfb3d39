// The sessions tab: Claude Code sessions, busy first, then the other live ones, then the
// rest by last change. An event replaces its session's card alone; a search shows its hits
// instead until the field is cleared. A tap opens the transcript, which can resume it.

import { $, el, api, agoNode, usd } from "./dom.js";
import { openPanel, message } from "./panel.js";

const sessions = new Map();
const cards = new Map();

// Busy sessions first, then the other live ones, then the rest.
function liveRank(s) {
  if (!s.live) return 2;
  return s.live_status === "busy" ? 0 : 1;
}

/** Whether `a` goes before `b` in the list. */
function before(a, b) {
  return (liveRank(a) - liveRank(b) || (b.modified_at_ms - a.modified_at_ms)) < 0;
}

function sessionCost(s) {
  if (s.cost_usd === undefined) return "";
  return `${s.cost_is_estimate ? "~" : ""}${usd(s.cost_usd)}`;
}

function sessionCard(s, snippet) {
  const card = el("li", { class: "card session", attrs: { "data-session-id": s.session_id, "data-live-status": s.live_status || "" } }, [
    el("div", { class: "card-head" }, [
      // The CLI's own word for what it is doing (busy, idle, ...), else just "live".
      s.live ? el("span", { class: `badge live-badge ${s.live_status || ""}`, text: s.live_status || "live" }) : null,
      // Claude Code's own background session: its job id and state.
      s.job_id ? el("span", { class: "badge job-badge", text: `bg ${s.job_id} ${s.job_state}` }) : null,
      el("span", { text: s.session_id.slice(0, 8) }),
      el("span", { class: "spacer" }),
      el("span", { text: sessionCost(s) }),
      agoNode(s.modified_at_ms || s.timestamp_ms),
    ]),
    // A background session is known by its name; a `-p` run's derived name ("repo-68")
    // says less than its prompt.
    el("div", { class: "card-title", text: snippet || s.title || (s.job_id || s.live_kind === "bg" ? s.name : "") || s.first_prompt || s.name || "(no prompt)" }),
    el("div", { class: "card-line", text: s.project_path || "" }),
  ]);
  card.addEventListener("click", () => openTranscript(s.session_id));
  return card;
}

/** Whether the list shows search hits (then live events only update the map). */
function searching() {
  return Boolean($("search").value);
}

/** A snapshot: the sessions are exactly `list`. */
export function resetSessions(list) {
  sessions.clear();
  for (const s of list) sessions.set(s.session_id, s);
  if (!searching()) showAll();
}

/** One session's new state, or its removal. */
export function applySession(kind, s) {
  if (kind === "removed") sessions.delete(s.session_id);
  else sessions.set(s.session_id, s);
  if (searching()) return;
  const old = cards.get(s.session_id);
  if (old) { old.remove(); cards.delete(s.session_id); }
  if (kind !== "removed") place(s);
  $("sessions-empty").classList.toggle("hidden", sessions.size > 0);
}

/** Puts the card of `s` in its place among the others. */
function place(s) {
  const card = sessionCard(s);
  cards.set(s.session_id, card);
  const list = $("session-list");
  const next = [...list.children].find((node) => {
    const other = sessions.get(node.getAttribute("data-session-id"));
    return other && before(s, other);
  });
  list.insertBefore(card, next || null);
}

/** The whole list, from the map (after a snapshot, or when a search is cleared). */
export function showAll() {
  const list = $("session-list");
  list.replaceChildren();
  cards.clear();
  const sorted = [...sessions.values()].sort((a, b) => (liveRank(a) - liveRank(b)) || (b.modified_at_ms - a.modified_at_ms));
  $("sessions-empty").classList.toggle("hidden", sorted.length > 0);
  for (const s of sorted) {
    const card = sessionCard(s);
    cards.set(s.session_id, card);
    list.appendChild(card);
  }
}

/** The search form: hits with their snippets, or the whole list again when empty. */
export async function search(event) {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) { showAll(); return; }
  const list = $("session-list");
  try {
    const data = await api("GET", `/api/sessions?q=${encodeURIComponent(q)}`);
    list.replaceChildren();
    cards.clear();
    $("sessions-empty").classList.toggle("hidden", data.hits.length > 0);
    for (const hit of data.hits) {
      list.appendChild(sessionCard({ session_id: hit.session_id, project_path: hit.project_path, timestamp_ms: hit.timestamp_ms }, hit.snippet));
    }
  } catch (err) {
    list.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

/** Opens the transcript of session `id`, with a field to resume it. */
export async function openTranscript(id) {
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
