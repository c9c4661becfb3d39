// A batch's thread: the messages its agents sent each other (and yours, from "send"), as a
// fold on the batch card. It loads when opened and again whenever the batch changes while
// it is open. Text goes in through textContent only.

import { api, el, ago, onHost } from "./dom.js";

/**
 * A fold showing batch `batchId`'s messages; `.refresh()` reloads it if open. `hostOf()`
 * names the machine whose batch it is ("" for this one).
 */
export function threadView(batchId, hostOf = () => "") {
  const list = el("ol", { class: "thread-list" });
  const summary = el("summary", { text: "Messages" });
  const fold = el("details", { class: "thread", attrs: { "data-thread": batchId } }, [summary, list]);
  const load = async () => {
    try {
      const messages = await api("GET", onHost(`/api/messages?batch=${encodeURIComponent(batchId)}`, hostOf()));
      summary.textContent = `Messages (${messages.length})`;
      list.replaceChildren(...messages.map((m) => el("li", { class: "thread-message", attrs: { "data-message-id": m.id } }, [
        el("div", { class: "card-line", text: `${m.from} → ${m.to} · ${ago(m.at_ms)}${m.delivered_at_ms ? "" : " · waiting"}` }),
        el("div", { class: "thread-text", text: m.text }),
      ])));
      if (!messages.length) list.append(el("li", { class: "card-line", text: "No messages yet." }));
    } catch (err) {
      list.replaceChildren(el("li", { class: "error", text: err.message }));
    }
  };
  fold.addEventListener("toggle", () => { if (fold.open) load(); });
  fold.refresh = () => { if (fold.open) load(); };
  return fold;
}
