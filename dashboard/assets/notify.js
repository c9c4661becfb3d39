// Notifications in the page: a toast for each one the daemon sends, the unread count in
// the title and on the app badge, and a system notification where the page may show one
// (a secure context: loopback or TLS, once the user allowed it with a tap).
// Loaded before app.js, which hands every `notification` event to `notified`.
"use strict";

const baseTitle = document.title;
let unread = 0;

function showUnread() {
  // Pending approvals (approvals.js) need the user most: they are counted first.
  const count = (window.needsYou && window.needsYou.pending()) || unread;
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  if ("setAppBadge" in navigator) {
    (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(() => {});
  }
}

/** Called by app.js for each notification event. */
function notified(n) {
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

/** Opens the item a notification's link names (`#agent=ID`, `#session=ID`). */
function openLinked() {
  const match = /^#(agent|session)=([\w-]+)$/.exec(location.hash);
  if (!match) return;
  const [, kind, id] = match;
  const deadline = Date.now() + 10000;
  const attempt = () => {
    if (kind === "agent" && typeof agents !== "undefined" && agents.has(id)) { showTab("agents"); openLogs(agents.get(id)); return; }
    if (kind === "session") { showTab("sessions"); openTranscript(id); return; }
    if (Date.now() < deadline) setTimeout(attempt, 250);
  };
  attempt();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["click", "keydown", "touchstart"]) document.addEventListener(kind, markRead, { passive: true });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && document.hasFocus()) markRead(); });
  const enable = document.getElementById("notify-enable");
  // Browsers ask only on a tap, and only in a secure context (loopback or TLS).
  if (enable && "Notification" in window && window.isSecureContext && Notification.permission === "default") {
    enable.classList.remove("hidden");
    enable.addEventListener("click", async () => {
      await Notification.requestPermission().catch(() => {});
      enable.classList.add("hidden");
    });
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();
});
