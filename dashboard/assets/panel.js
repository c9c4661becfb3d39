// The panel that slides over the tabs: an agent's logs, a follow-up to send, a session's
// transcript. One at a time; whatever a panel keeps open (a log socket) is closed with it.

import { $, el } from "./dom.js";

let onClose = null;

/** Opens the panel with `title`, and a text field when `input` (its submit calls `onSubmit`). */
export function openPanel(title, { input, placeholder, submit, onSubmit, closing } = {}) {
  release();
  onClose = closing || null;
  $("panel-title").textContent = title;
  $("panel-body").replaceChildren();
  $("panel-body").classList.remove("show-raw");
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

/** Hides the panel and closes what it kept open. */
export function closePanel() {
  release();
  $("panel").classList.add("hidden");
}

function release() {
  if (onClose) { const close = onClose; onClose = null; close(); }
}

/** One line of a conversation: a role label, then the text. */
export function message(role, text, cls) {
  return el("div", { class: `msg ${cls || role}` }, [el("span", { class: "role", text: role }), document.createTextNode(text)]);
}
