// The "Needs you" strip: one card per pending approval, on top of every tab. The page
// title and the app badge count the pending approvals (notify.js reads `pendingApprovals`);
// an approval answered anywhere (CLI, another phone) leaves at once, and so does its toast.
// Tool input is always shown as text (textContent), never as HTML.
//
// A card is the same for every kind of approval: a head (icon, kind, who asks and in what
// state, once; how long ago, ticking), then a body and buttons that depend on the kind.
// KINDS below is the one place a kind says how it looks: a new kind (an agent's question
// with its choices, a budget with Raise / Stop) is one more entry there.

import { api, el, agoNode } from "./dom.js";
import { agents } from "./agents.js";
import { stateIcon } from "./icons.js";
import { questionBody } from "./question.js";
import { budgetBody } from "./spend.js";

const pending = new Map();
const cards = new Map();
const FOLD_LINES = 6;

/** dom.js's el() with a class and a text, the shape every node here takes. */
function node(tag, cls, text) {
  return el(tag, { class: cls || undefined, text });
}

/** Text that folds after a few lines. */
function folded(text) {
  const lines = String(text).split("\n");
  if (lines.length <= FOLD_LINES) return node("pre", "tool-input", text);
  const details = node("details", "tool-input-fold");
  const summary = node("summary", "", `${lines.slice(0, FOLD_LINES).join("\n")}\n… ${lines.length - FOLD_LINES} more lines`);
  details.append(summary, node("pre", "tool-input", text));
  return details;
}

/** An approval's tool input, parsed (an empty object when it is not JSON). */
function inputOf(approval) {
  try { return JSON.parse(approval.input_json || "{}") || {}; } catch (_) { return {}; }
}

/** A tool call's body: the command once for Bash, path and content (or diff) for edits. */
function toolBody(approval) {
  const input = inputOf(approval);
  const box = node("div", "approval-input");
  if (typeof input.command === "string") {
    box.append(node("pre", "tool-input command", input.command));
  } else if (typeof input.file_path === "string") {
    box.append(node("div", "card-line path", input.file_path));
    if (typeof input.content === "string") box.append(folded(input.content));
    if (typeof input.old_string === "string" || typeof input.new_string === "string") {
      const diff = String(input.old_string || "").split("\n").map((l) => `- ${l}`)
        .concat(String(input.new_string || "").split("\n").map((l) => `+ ${l}`)).join("\n");
      box.append(folded(diff));
    }
  } else {
    box.append(folded(JSON.stringify(input, null, 2)));
  }
  return box;
}

/** A tool call's answers: Allow, Deny, Always. */
function toolActions(answer) {
  return [
    { label: "Allow", body: { decision: "allow" }, cls: "ok" },
    { label: "Deny", body: { decision: "deny" }, cls: "danger" },
    { label: "Always", body: { decision: "always" }, cls: "" },
  ].map(({ label, body, cls }) => {
    const b = node("button", `thumb ${cls}`, label);
    b.type = "button";
    b.setAttribute("data-decision", body.decision);
    b.addEventListener("click", () => answer(body));
    return b;
  });
}

/**
 * How each kind of approval looks: `title` (the badge), `body(approval, answer)` (a node),
 * and `actions(answer, approval)` (buttons). Every answer goes through the card's one
 * `answer(body, route)`: it POSTs `body` (with the card's `host`) to
 * `/api/approvals/ID/<route>` (`decide` by default), and takes the card away once it is
 * accepted, or shows why not. An approval without a `kind` is a tool call.
 */
export const KINDS = {
  tool: { title: (a) => a.tool_name || "tool", body: toolBody, actions: toolActions },
  // An agent's question (ask_human): the choices and a box for any other answer (question.js).
  question: { title: () => "question", body: (a, answer) => questionBody(a, answer), actions: () => [] },
  // An agent paused at a spending cap: Raise (by an amount) and Stop, in spend.js.
  budget: { title: () => "budget", body: (a, answer) => budgetBody(a, answer), actions: () => [] },
};

/** Who asks, once: the agent's name and state (live from agents.js), or the session. */
function whoLine(approval) {
  const line = node("div", "card-line who");
  const agent = approval.agent_id ? agents.get(approval.agent_id) : null;
  if (approval.agent_id) {
    const state = agent ? agent.state : "waiting";
    line.append(stateIcon(state), node("span", "who-name", `${approval.agent_id} · ${approval.agent_task || (agent && agent.task) || ""}`));
    line.setAttribute("data-state", state);
  } else {
    line.append(node("span", "who-name", `session in ${approval.project_path || "?"}`));
  }
  return line;
}

function card(approval) {
  const kind = KINDS[approval.kind] || KINDS.tool;
  const li = node("li", "card approval");
  li.setAttribute("data-approval-id", approval.id);
  li.setAttribute("data-kind", approval.kind || "tool");
  const head = node("div", "card-head");
  head.append(node("span", "badge state-waiting", kind.title(approval)), node("span", "spacer"), agoNode(approval.created_at_ms));
  if (approval.host) head.append(node("span", "badge host-badge", approval.host));
  const error = node("p", "error");
  const buttons = node("div", "card-actions approval-actions");
  const answer = async (body, route = "decide") => {
    for (const b of li.querySelectorAll("button")) b.disabled = true;
    error.textContent = "";
    try {
      // Another machine's approval names its host, so the answer goes there.
      const sent = approval.host ? { ...body, host: approval.host } : body;
      await api("POST", `/api/approvals/${encodeURIComponent(approval.id)}/${route}`, sent);
      remove(approval.id);
      return true;
    } catch (err) {
      error.textContent = err.message;
      for (const b of li.querySelectorAll("button")) b.disabled = false;
      return false;
    }
  };
  buttons.append(...kind.actions(answer, approval));
  li.append(head, whoLine(approval), kind.body(approval, answer), buttons, error);
  return li;
}

function remove(id) {
  pending.delete(id);
  const c = cards.get(id);
  if (c) c.remove();
  cards.delete(id);
  render();
}

function render() {
  const count = pending.size;
  document.getElementById("needs-you").classList.toggle("hidden", count === 0);
  // notify.js owns the title, badge and toasts; it listens, so this module need not know it.
  document.dispatchEvent(new CustomEvent("approvals-changed"));
}

function upsert(approval) {
  if (!approval || !approval.id) return;
  if (approval.state !== "pending") { remove(approval.id); return; }
  if (pending.has(approval.id)) return;
  pending.set(approval.id, approval);
  const c = card(approval);
  cards.set(approval.id, c);
  // Oldest first: new requests go to the end.
  document.getElementById("approval-list").appendChild(c);
  render();
}

/** How many approvals wait for an answer. */
export function pendingApprovals() {
  return pending.size;
}

/** Whether an approval of this agent (or, without one, this session) still waits. */
export function waitsFor(agentId, sessionId) {
  for (const a of pending.values()) {
    if (agentId ? a.agent_id === agentId : sessionId && a.session_id === sessionId) return true;
  }
  return false;
}

/** An agent changed: its cards' "who" line shows the new state (nothing else is redrawn). */
export function agentChanged(agent) {
  for (const [id, c] of cards) {
    const a = pending.get(id);
    if (a && a.agent_id === agent.id) c.querySelector(".who").replaceWith(whoLine(a));
  }
}

/** Takes a live event: a snapshot's approvals, or one approval asked or answered. */
export function applyApprovals(event) {
  if (event.type === "snapshot") {
    for (const id of [...pending.keys()]) remove(id);
    for (const a of event.approvals || []) upsert(a);
    render();
  } else if (event.type === "approval") {
    upsert(event.approval);
  }
}

// For scripts and tests driving the page (the count the title shows).
window.needsYou = { pending: pendingApprovals };
