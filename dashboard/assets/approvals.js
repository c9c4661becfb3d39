// The "Needs you" strip: one card per pending approval, on top of every tab, with Allow,
// Deny and Always buttons sized for a thumb. The page title and the app badge count the
// pending approvals; an approval answered anywhere (CLI, another phone) leaves at once.
// Tool input is always shown as text (textContent), never as HTML.

import { api, el } from "./dom.js";
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

/** The tool input as text: the command for Bash, path and content (or diff) for edits. */
function inputView(approval) {
  let input = {};
  try { input = JSON.parse(approval.input_json || "{}") || {}; } catch (_) { input = {}; }
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

function card(approval) {
  const li = node("li", "card approval");
  li.setAttribute("data-approval-id", approval.id);
  const head = node("div", "card-head");
  head.append(node("span", "badge state-waiting", approval.tool_name || "tool"), node("span", "", approval.id));
  const who = approval.agent_id
    ? `agent ${approval.agent_id}: ${approval.agent_task || ""}`
    : `session in ${approval.project_path || "?"}`;
  if (approval.kind === "budget") {
    li.append(head, node("div", "card-line who", who), budgetBody(approval, () => remove(approval.id)));
    return li;
  }
  const error = node("p", "error");
  const buttons = node("div", "card-actions approval-actions");
  const answer = (decision) => async () => {
    for (const b of buttons.querySelectorAll("button")) b.disabled = true;
    error.textContent = "";
    try {
      await api("POST", `/api/approvals/${encodeURIComponent(approval.id)}/decide`, { decision });
      remove(approval.id);
    } catch (err) {
      error.textContent = err.message;
      for (const b of buttons.querySelectorAll("button")) b.disabled = false;
    }
  };
  const button = (label, decision, cls) => {
    const b = node("button", `thumb ${cls}`, label);
    b.type = "button";
    b.setAttribute("data-decision", decision);
    b.addEventListener("click", answer(decision));
    return b;
  };
  buttons.append(button("Allow", "allow", "ok"), button("Deny", "deny", "danger"), button("Always", "always", ""));
  li.append(head, node("div", "card-line who", who), inputView(approval), buttons, error);
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
  // notify.js owns the title and badge (pending approvals first, then unread news); it
  // listens, so this module need not know it.
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
