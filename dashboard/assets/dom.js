// Helpers every module of the page shares. Plain JavaScript, no dependencies, no inline
// script (the Content-Security-Policy forbids it). Every piece of user-supplied text reaches
// the page through textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

/** Builds an element; `text` is set as text, never parsed as HTML. */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [key, value] of Object.entries(props.attrs || {})) node.setAttribute(key, value);
  if (props.onclick) node.addEventListener("click", props.onclick);
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

/** A JSON call to the dashboard's API; a refusal throws with the server's words. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  const text = await response.text().catch(() => "");
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = {}; }
  if (!response.ok) {
    // A plain-text answer (the daemon is down, say) carries what to do: show it.
    const said = data.error || (typeof text === "string" && !text.trimStart().startsWith("{") ? text.trim().slice(0, 300) : "");
    throw new Error(said || `${response.status} ${response.statusText}`);
  }
  return data;
}

/** `path` naming `host` (an agent's card's `host`) when another machine runs the agent,
 * so the dashboard asks that host's daemon; unchanged for this machine's. */
export function onHost(path, host) {
  if (!host) return path;
  return `${path}${path.includes("?") ? "&" : "?"}host=${encodeURIComponent(host)}`;
}

/** "$1.23"; small sums keep their cents' fractions ("$0.0501"), as the CLI's tables do. */
export function usd(value) {
  const v = Number(value) || 0;
  return v !== 0 && Math.abs(v) < 0.1 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

/** The WebSocket URL of `path` on this origin (wss over TLS). */
export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}

/** "12s ago", "3m ago", "2h ago", "4d ago". */
export function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A "12s ago" that keeps ticking (app.js calls `tickAgo` every second). */
export function agoNode(ms) {
  const node = document.createElement("time");
  node.className = "ago";
  if (ms) {
    node.setAttribute("data-at", String(ms));
    node.dateTime = new Date(ms).toISOString();
  }
  node.textContent = ago(ms);
  return node;
}

/** Brings every ticking relative time on the page up to date. */
export function tickAgo() {
  for (const node of document.querySelectorAll("time.ago[data-at]")) {
    const text = ago(Number(node.getAttribute("data-at")));
    if (node.textContent !== text) node.textContent = text;
  }
}

/** How long an agent has run (until now, while it runs). */
export function elapsed(agent) {
  if (!agent.started_at_ms) return "";
  const end = agent.ended_at_ms || Date.now();
  const s = Math.max(0, Math.round((end - agent.started_at_ms) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}
