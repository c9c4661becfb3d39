// Notifications in the page: a toast for each one the daemon sends, the unread count in
// the title and on the app badge, and a system notification where the page may show one
// (a secure context: loopback or TLS, once the user allowed it with a tap). On a paired
// phone over TLS, allowing them also subscribes to Web Push, so the daemon reaches the
// phone with the page closed (sw.js shows those).
// app.js hands every `notification` event to `notified`.

import { pendingApprovals } from "./approvals.js";
import { agents } from "./agents.js";
import { openLogs } from "./logs.js";
import { openChanges } from "./changes.js";
import { openTranscript } from "./sessions.js";
import { showTab } from "./tabs.js";

const baseTitle = document.title;
let unread = 0;

/** The title and app badge: pending approvals first (they need the user most), else unread news. */
export function showUnread() {
  const count = pendingApprovals() || unread;
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  if ("setAppBadge" in navigator) {
    (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(() => {});
  }
}

document.addEventListener("approvals-changed", () => showUnread());

/** Called by app.js for each notification event. */
export function notified(n) {
  unread += 1;
  showUnread();
  toast(n);
  systemNotification(n);
}

function toast(n) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast toast-${n.event}`;
  item.setAttribute("role", "status");
  item.setAttribute("data-event", n.event);
  const title = document.createElement("strong");
  title.textContent = n.title;
  const message = document.createElement("div");
  message.textContent = n.message;
  item.append(title, message);
  item.addEventListener("click", () => {
    item.remove();
    if (n.agent_id) location.hash = `agent=${n.agent_id}`;
    else if (n.session_id) location.hash = `session=${n.session_id}`;
  });
  box.appendChild(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  // Approvals wait for the user longer than news does.
  setTimeout(() => item.remove(), n.event === "approval_needed" ? 60000 : 12000);
}

function systemNotification(n) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  try {
    new Notification(n.title, { body: n.message, icon: "/icon-192.png", tag: `${n.event}:${n.agent_id || n.session_id}` });
  } catch {
    // Mobile browsers allow system notifications only from a service worker.
  }
}

/** The user is here: what was unread has been seen. */
function markRead() {
  if (unread && document.visibilityState === "visible") { unread = 0; showUnread(); }
}

/** Opens the item a notification's link names (`#agent=ID`, `#agent=ID&view=changes`,
 * `#session=ID`). */
function openLinked() {
  const match = /^#(agent|session)=([\w-]+)(&view=changes)?$/.exec(location.hash);
  if (!match) return;
  const [, kind, id, changes] = match;
  const deadline = Date.now() + 10000;
  const attempt = () => {
    if (kind === "agent" && agents.has(id)) {
      showTab("agents");
      if (changes) openChanges(agents.get(id));
      else openLogs(agents.get(id));
      return;
    }
    if (kind === "session") { showTab("sessions"); openTranscript(id); return; }
    if (Date.now() < deadline) setTimeout(attempt, 250);
  };
  attempt();
}

/** "BASE64URL" -> bytes, as PushManager.subscribe takes the key. */
function keyBytes(text) {
  const b64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameBytes(a, b) {
  if (!a || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

/**
 * Subscribes this device to Web Push with the daemon's key and hands the subscription to
 * the daemon (again on every visit, so a re-paired phone or a new daemon key is picked up).
 * Quietly does nothing where push is not offered: loopback, plain HTTP, unpaired.
 */
async function subscribePush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) return;
  if (Notification.permission !== "granted") return;
  try {
    const info = await fetch("/api/push").then((r) => (r.ok ? r.json() : null));
    if (!info || !info.available) return;
    const key = keyBytes(info.public_key);
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    }
    await fetch("/api/push/subscribe", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(subscription),
    });
  } catch (err) {
    console.warn("Web Push is not available here:", err);
  }
}

/** Wires the page's notification bits; app.js calls it once the page is there. */
export function startNotifications() {
  for (const kind of ["click", "keydown", "touchstart"]) document.addEventListener(kind, markRead, { passive: true });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && document.hasFocus()) markRead(); });
  const enable = document.getElementById("notify-enable");
  // Browsers ask only on a tap, and only in a secure context (loopback or TLS).
  if (enable && "Notification" in window && window.isSecureContext && Notification.permission === "default") {
    enable.classList.remove("hidden");
    enable.addEventListener("click", async () => {
      await Notification.requestPermission().catch(() => {});
      enable.classList.add("hidden");
      subscribePush();
    });
  }
  subscribePush();
  // A tap on a pushed notification, with the page already open: sw.js names the item.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && typeof event.data.open === "string") location.hash = event.data.open;
    });
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();
}
