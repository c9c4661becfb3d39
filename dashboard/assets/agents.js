// The agents tab: one card per agent, newest first. A card is made once and then updated
// in place by the events of its own agent, so a button a thumb is about to tap is never
// swapped for a new one, and one event touches one card. The only timer updates the
// elapsed time of running agents, nothing else.

import { $, el, api, elapsed, onHost, usd } from "./dom.js";
import { openLogs, openSend } from "./logs.js";
import { openChanges } from "./changes.js";
import { stateIcon } from "./icons.js";

/** Every agent the page knows, by id (batches.js and notify.js read it). */
export const agents = new Map();
const cards = new Map();
const listeners = [];

/** Calls `hook` after any agent changed. */
export function onAgentsChanged(hook) {
  listeners.push(hook);
}

function changed() {
  $("agents-empty").classList.toggle("hidden", agents.size > 0);
  for (const hook of listeners) hook();
}

/** A snapshot: the agents are exactly `list`. */
export function resetAgents(list) {
  agents.clear();
  for (const a of list) agents.set(a.id, a);
  for (const [id, { card }] of cards) {
    if (!agents.has(id)) { card.remove(); cards.delete(id); }
  }
  for (const agent of agents.values()) show(agent);
  changed();
}

/** One agent's new state. */
export function upsertAgent(agent) {
  agents.set(agent.id, agent);
  show(agent);
  changed();
}

/** An agent was forgotten (`orchestractl forget`). */
export function removeAgent(id) {
  agents.delete(id);
  const entry = cards.get(id);
  if (entry) { entry.card.remove(); cards.delete(id); }
  changed();
}

/** A spawn's answer: agents the live stream has not brought yet (never older states). */
export function addSpawned(list) {
  for (const agent of list) if (!agents.has(agent.id)) upsertAgent(agent);
}

function show(agent) {
  let entry = cards.get(agent.id);
  if (!entry) {
    entry = createCard(agent);
    place(entry.card, agent);
  }
  updateCard(entry, agent);
}

/** Puts a new card before the first older agent's card (newest first). */
function place(card, agent) {
  const list = $("agent-list");
  const next = [...list.children].find((node) => {
    const other = agents.get(node.getAttribute("data-agent-id"));
    return other && other.created_at_ms < agent.created_at_ms;
  });
  list.insertBefore(card, next || null);
}

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
  if (agent.host) head.insertBefore(el("span", { class: "badge host-badge", text: agent.host }), head.children[2]);
  const actions = el("div", { class: "card-actions" }, [
    el("button", { text: "Logs", attrs: { type: "button", "data-action": "logs" }, onclick: () => openLogs(agents.get(agent.id)) }),
    el("button", { text: "Send", attrs: { type: "button", "data-action": "send" }, onclick: () => openSend(agents.get(agent.id)) }),
    el("button", { text: "Changes", attrs: { type: "button", "data-action": "changes" }, onclick: () => openChanges(agents.get(agent.id)) }),
    stop,
  ]);
  card.append(head, refs.task, refs.activity, refs.branch, actions);
  const entry = { card, refs };
  cards.set(agent.id, entry);
  return entry;
}

function updateCard({ card, refs }, agent) {
  const active = ["queued", "starting", "running", "waiting"].includes(agent.state);
  card.setAttribute("data-state", agent.state);
  refs.badge.className = `badge state-${agent.state}`;
  refs.badge.replaceChildren(stateIcon(agent.state), document.createTextNode(` ${agent.state}`));
  refs.cost.textContent = usd(agent.total_cost_usd);
  refs.time.textContent = elapsed(agent);
  const refused = (agent.permission_denials || []).length && agent.state !== "waiting"
    ? `refused: ${agent.permission_denials.join("; ")}` : "";
  // Waiting: the approval's card under "Needs you" shows the tool and command, once.
  const activity = agent.state === "waiting" ? "waiting for your answer under “Needs you”" : agent.activity;
  refs.activity.textContent = agent.error || refused || activity || "";
  refs.branch.textContent = agent.branch || "";
  // The overlap radar and `--after` chains: marked on the card itself.
  const overlaps = agent.overlaps || [];
  card.classList.toggle("overlap", overlaps.length > 0);
  const relations = overlaps.map((o) => `⚠ also changed by ${o.agent_id}: ${o.paths.join(", ")}`);
  if (agent.after) relations.push(`runs after ${agent.after}`);
  if (relations.length) refs.branch.textContent = [agent.branch || "", ...relations].filter(Boolean).join(" · ");
  refs.stop.classList.toggle("hidden", !active);
}

/** Ticks the elapsed time of the agents that run: their time text only. */
export function tickTimes() {
  for (const [id, { refs }] of cards) {
    const agent = agents.get(id);
    if (agent && agent.started_at_ms && !agent.ended_at_ms) refs.time.textContent = elapsed(agent);
  }
}

async function stopAgent(agent) {
  try { await api("POST", onHost(`/api/agents/${encodeURIComponent(agent.id)}/stop`, agent.host)); }
  catch (err) { $("spawn-error").textContent = err.message; $("spawn-fold").open = true; }
}

/** The spawn form: one agent per line of tasks. */
export async function spawn(event) {
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
    addSpawned(created);
    $("spawn-tasks").value = "";
  } catch (err) {
    $("spawn-error").textContent = err.message;
  }
}
