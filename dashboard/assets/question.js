// An agent's question (an approval of kind "question", from its ask_human tool) as the body
// of a "Needs you" card: the question, one thumb-sized button per choice the agent gave,
// and a box for any other answer. The answer is the agent's tool result. Text goes in
// through textContent only.

import { el } from "./dom.js";

/** The body of question `approval`'s card; `answer(body, route)` is the card's one way
 * to answer (see approvals.js). */
export function questionBody(approval, answer) {
  const error = el("p", { class: "error" });
  const box = el("div", { class: "question" });
  const typed = el("input", { class: "question-text", attrs: { type: "text", placeholder: "Your answer", "aria-label": "Your answer" } });
  const send = (text) => {
    if (!String(text).trim()) { error.textContent = "Type an answer first."; return; }
    error.textContent = "";
    answer({ text }, "answer");
  };
  const choices = el("div", { class: "card-actions question-choices" });
  for (const choice of approval.choices || []) {
    choices.append(el("button", { class: "thumb", text: choice, attrs: { type: "button", "data-choice": choice }, onclick: () => send(choice) }));
  }
  const button = el("button", { class: "thumb ok", text: "Answer", attrs: { type: "button", "data-action": "answer" }, onclick: () => send(typed.value) });
  box.append(
    el("div", { class: "card-title question-text-shown", text: approval.question || "" }),
    choices,
    el("div", { class: "card-actions" }, [typed, button]),
    error,
  );
  return box;
}
