// An agent's question (an approval of kind "question", from its ask_human tool) as the body
// of a "Needs you" card: the question, one thumb-sized button per choice the agent gave,
// and a box for any other answer. The answer is the agent's tool result. Text goes in
// through textContent only.

import { api, el } from "./dom.js";

/** The body of question `approval`'s card; `done` is called once it is answered. */
export function questionBody(approval, done) {
  const error = el("p", { class: "error" });
  const box = el("div", { class: "question" });
  const typed = el("input", { class: "question-text", attrs: { type: "text", placeholder: "Your answer", "aria-label": "Your answer" } });
  const buttons = [];
  const send = async (text) => {
    if (!String(text).trim()) { error.textContent = "Type an answer first."; return; }
    for (const b of buttons) b.disabled = true;
    error.textContent = "";
    try {
      // Another machine's question names its host, so the answer goes there.
      const body = approval.host ? { text, host: approval.host } : { text };
      await api("POST", `/api/approvals/${encodeURIComponent(approval.id)}/answer`, body);
      done();
    } catch (err) {
      error.textContent = err.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const choices = el("div", { class: "card-actions question-choices" });
  for (const choice of approval.choices || []) {
    const b = el("button", { class: "thumb", text: choice, attrs: { type: "button", "data-choice": choice }, onclick: () => send(choice) });
    buttons.push(b);
    choices.append(b);
  }
  const answer = el("button", { class: "thumb ok", text: "Answer", attrs: { type: "button", "data-action": "answer" }, onclick: () => send(typed.value) });
  buttons.push(answer);
  box.append(
    el("div", { class: "card-title question-text-shown", text: approval.question || "" }),
    choices,
    el("div", { class: "card-actions" }, [typed, answer]),
    error,
  );
  return box;
}
