// The page's one live connection: numbered events over a WebSocket. After a reconnect
// (a phone waking up) it asks for what it missed since the last number it saw; a
// `resync` (the server lost track, or a daemon feed restarted) starts over with a snapshot.

import { $, wsUrl } from "./dom.js";

let lastSeq = 0;

/** Connects, and keeps reconnecting; `apply` gets every event but `resync`. */
export function connect(apply) {
  const since = lastSeq ? `?since=${lastSeq}` : "";
  const socket = new WebSocket(wsUrl(`/ws${since}`));
  socket.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn live"; };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "error") { $("conn").textContent = event.message; $("conn").title = event.message; return; }
    if (event.type === "resync") { lastSeq = 0; socket.close(); return; }
    if (event.seq) lastSeq = event.seq;
    apply(event);
  };
  socket.onclose = () => {
    $("conn").textContent = "reconnecting…";
    $("conn").className = "conn";
    setTimeout(() => connect(apply), 1000);
  };
}
