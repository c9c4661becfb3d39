// An agent's logs in the panel, live: the typed transcript events the daemon read from
// its output (transcript.js renders them). The log socket reconnects when it drops while
// the agent still runs (a phone waking up, a restarted dashboard), and lines it already
// shows are not shown twice: each carries its byte offset in the log.

import { $, api, el, onHost, wsUrl } from "./dom.js";
import { openPanel, closePanel } from "./panel.js";
import { render } from "./transcript.js";

/** Opens the logs of `agent`, with a field for a follow-up message. */
export function openLogs(agent) {
  let socket = null;
  let closed = false;
  let shownUpTo = -1;
  let delay = 500;
  /** Whether the panel shows an error of this log's socket (cleared when lines come again). */
  let lostSaid = false;
  openPanel(`Logs · ${agent.task}`, {
    input: true, placeholder: "Follow-up message", submit: "Send",
    onSubmit: (text) => api("POST", onHost(`/api/agents/${encodeURIComponent(agent.id)}/send`, agent.host), { message: text }),
    closing: () => { closed = true; if (socket) socket.close(); },
  });
  // Tool calls show as text; their raw JSON is behind this toggle.
  const raw = el("button", { class: "raw-toggle", text: "Raw JSON", attrs: { type: "button", "aria-pressed": "false", "data-action": "raw" } });
  raw.addEventListener("click", () => {
    const on = $("panel-body").classList.toggle("show-raw");
    raw.setAttribute("aria-pressed", String(on));
  });
  $("panel-body").classList.remove("show-raw");
  $("panel-body").appendChild(raw);
  const open = () => {
    socket = new WebSocket(wsUrl(onHost(`/ws/logs/${encodeURIComponent(agent.id)}?events=1`, agent.host)));
    let ended = false;
    socket.onopen = () => { delay = 500; };
    socket.onmessage = (event) => {
      const parsed = JSON.parse(event.data);
      if (parsed.type === "end") { ended = true; return; }
      if (parsed.type === "error") { $("panel-error").textContent = parsed.message; lostSaid = true; return; }
      // Back after a lost daemon: the log flows again, so its error goes.
      if (lostSaid) { $("panel-error").textContent = ""; lostSaid = false; }
      // A reconnect replays the log from the start: skip what is already here.
      if (parsed.offset !== undefined && parsed.offset <= shownUpTo) return;
      if (parsed.offset !== undefined) shownUpTo = parsed.offset;
      const body = $("panel-body");
      const nearBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
      for (const e of parsed.events || []) { const node = render(e); if (node) body.appendChild(node); }
      if (nearBottom) body.scrollTop = body.scrollHeight;
    };
    socket.onclose = () => {
      if (closed || ended) return;
      setTimeout(() => { if (!closed) open(); }, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
}

/** Opens a panel to send `agent` a follow-up message. */
export function openSend(agent) {
  openPanel(`Send · ${agent.task}`, {
    input: true, placeholder: "Follow-up message", submit: "Send",
    onSubmit: async (text) => {
      await api("POST", onHost(`/api/agents/${encodeURIComponent(agent.id)}/send`, agent.host), { message: text });
      closePanel();
    },
  });
  $("panel-body").appendChild(el("p", { class: "card-line", text: agent.activity || "" }));
}
