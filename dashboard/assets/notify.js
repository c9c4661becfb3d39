// Notifications in the page: a toast for each one the daemon sends (at most two at once,
// then "+N more"; each with a close button; an approval's toast leaves the moment that
// approval is answered anywhere), the count of open approvals in the title and on the app
// badge, and a system notification where the page may show one (a secure context: loopback
// or TLS, once the user allowed it with a tap). On a paired phone over TLS, allowing them
// also subscribes to Web Push, so the daemon reaches the phone with the page closed (sw.js
// shows those). Where that cannot work, the "Notify me" button says why instead of hiding.
// app.js hands every `notification` event to `notified`.

import { pendingApprovals, waitsFor } from "./approvals.js";
import { agents } from "./agents.js";
import { openLogs } from "./logs.js";
import { openChanges } from "./changes.js";
import { openTranscript } from "./sessions.js";
import { showTab } from "./tabs.js";
import { agoNode } from "./dom.js";

const baseTitle = document.title;
/** Toasts shown at once; the rest wait behind "+N more". */
const MAX_TOASTS = 2;
/** How long news stays (approvals stay while they wait). */
const NEWS_MS = 12000;
/** How long subscribing to Web Push may take before the page says it did not work. */
const SUBSCRIBE_MS = 10000;
/** The toasts, oldest first: `{ n, node, timer }`. */
const toasts = [];

/** The title and app badge: the number of open approvals, nothing else. */
export function showUnread() {
  const count = pendingApprovals();
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  if ("setAppBadge" in navigator) {
    (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(() => {});
  }
}

document.addEventListener("approvals-changed", () => { showUnread(); settleApprovalToasts(); });

/** Called by app.js for each notification event. */
export function notified(n) {
  toast(n);
  systemNotification(n);
}

/** Whether the approval a toast tells of still waits. */
function stillWaits(n) {
  if (n.agent_id || n.session_id) return waitsFor(n.agent_id, n.session_id);
  return pendingApprovals() > 0;
}

/** Removes the toasts of approvals that were answered (here, in the CLI, on another phone). */
function settleApprovalToasts() {
  for (const t of [...toasts]) if (t.n.event === "approval_needed" && !stillWaits(t.n)) dismiss(t);
}

function dismiss(entry) {
  const at = toasts.indexOf(entry);
  if (at >= 0) toasts.splice(at, 1);
  clearTimeout(entry.timer);
  entry.node.remove();
  layoutToasts();
}

/** Shows the newest toasts, and how many more wait. */
function layoutToasts() {
  const box = document.getElementById("toasts");
  if (!box) return;
  const shown = toasts.slice(-MAX_TOASTS);
  const hidden = toasts.length - shown.length;
  const nodes = shown.map((t) => t.node);
  if (hidden > 0) {
    const more = document.createElement("button");
    more.type = "button";
    more.className = "toast-more";
    more.textContent = `+${hidden} more · clear all`;
    more.addEventListener("click", () => { for (const t of [...toasts]) dismiss(t); });
    nodes.unshift(more);
  }
  box.replaceChildren(...nodes);
}

function toast(n) {
  const item = document.createElement("div");
  item.className = `toast toast-${n.event}`;
  item.setAttribute("role", "status");
  item.setAttribute("data-event", n.event);
  if (n.agent_id) item.setAttribute("data-agent-id", n.agent_id);
  const head = document.createElement("div");
  head.className = "toast-head";
  const title = document.createElement("strong");
  title.textContent = n.title;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  head.append(title, agoNode(n.at_ms || Date.now()), close);
  const message = document.createElement("div");
  message.className = "toast-message";
  // An approval's details are on its card in "Needs you": the toast only points there.
  message.textContent = n.event === "approval_needed" ? "Answer under “Needs you” above." : n.message;
  item.append(head, message);
  const entry = { n, node: item, timer: null };
  close.addEventListener("click", (event) => { event.stopPropagation(); dismiss(entry); });
  item.addEventListener("click", () => {
    dismiss(entry);
    if (n.event === "approval_needed") { window.scrollTo({ top: 0 }); return; }
    if (n.agent_id) location.hash = `agent=${n.agent_id}`;
    else if (n.session_id) location.hash = `session=${n.session_id}`;
  });
  toasts.push(entry);
  layoutToasts();
  if (n.event === "approval_needed") {
    // Answered before this toast arrived: it goes as soon as that shows.
    entry.timer = setTimeout(settleApprovalToasts, 1500);
  } else {
    entry.timer = setTimeout(() => dismiss(entry), NEWS_MS);
  }
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

/** Why the service worker did not register (an untrusted certificate, say), if it did not. */
let workerError = null;
/** The service worker's registration, while or once it is made (null where there is none). */
let worker = null;

/**
 * Registers the service worker (installable app, pushed notifications); browsers allow it
 * only in a secure context with a certificate they trust.
 */
export function registerWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  worker = navigator.serviceWorker.register("/sw.js");
  worker.catch((err) => {
    workerError = err;
    showWhy();
  });
}

/** The reason notifications from a closed page cannot work here, or null when they can. */
function whyNot() {
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent);
  const homeScreen = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  if (!window.isSecureContext) {
    return "This page is plain HTTP, so the browser allows no notifications, service worker or home-screen app. Restart the dashboard without --insecure-http and open its https:// address.";
  }
  if (workerError) {
    const certificate = location.protocol === "https:"
      && (workerError.name === "SecurityError" || /SSL|certificate/i.test(workerError.message || ""));
    return certificate
      ? `The browser does not trust this page's certificate, so it refuses the service worker (and with it push and the home-screen app). Install this machine's certificate authority once: download it from /ca.crt, follow the steps on the pairing page, then reload. (The browser said: ${workerError.message})`
      : `The browser refused the service worker (${workerError.message}).`;
  }
  if (!("serviceWorker" in navigator)) return "This browser offers no service workers here (a private window?), so notifications show only while the page is open.";
  if (ios && !homeScreen) return "On iPhone and iPad, push works only from the Home Screen app: tap Share → Add to Home Screen, open it from there, then tap Notify me.";
  if (!("PushManager" in window) || !("Notification" in window)) return "This browser has no Web Push, so notifications show only while the page is open.";
  if (Notification.permission === "denied") return "Notifications are blocked for this site: allow them in the browser's site settings, then reload.";
  return null;
}

/** The line under the header that says how notifications stand. */
function say(text, ok) {
  const status = document.getElementById("notify-status");
  if (!status) return;
  status.textContent = text || "";
  if (text && text.includes("/ca.crt")) {
    const link = document.createElement("a");
    link.href = "/ca.crt";
    link.textContent = "Download the certificate authority";
    link.setAttribute("download", "");
    status.append(" ", link);
  }
  status.classList.toggle("hidden", !text);
  status.classList.toggle("ok", Boolean(ok));
}

/** Shows why notifications cannot work, when the user asked for them. */
function showWhy() {
  const enable = document.getElementById("notify-enable");
  if (enable && enable.getAttribute("data-asked") === "1") say(whyNot());
}

/**
 * Subscribes this device to Web Push with the daemon's key and hands the subscription to
 * the daemon (again on every visit, so a re-paired phone or a new daemon key is picked up).
 * Returns what happened in words, for the page to say (`null`: nothing to do here).
 */
async function subscribePush() {
  if (whyNot() || Notification.permission !== "granted") return null;
  try {
    const info = await fetch("/api/push").then((r) => (r.ok ? r.json() : null));
    if (!info || !info.available) {
      return "Notifications show while this page is open. Push to a closed page is for paired phones on the LAN page (`orchestractl web --lan`).";
    }
    const key = keyBytes(info.public_key);
    // A registration that failed never becomes ready: ask the registration itself.
    const registration = await worker;
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      // A browser that cannot reach its push service may never answer: give up in time.
      const late = new Promise((_, reject) => setTimeout(
        () => reject(new Error(`no answer from the push service in ${SUBSCRIBE_MS / 1000} s`)), SUBSCRIBE_MS));
      subscription = await Promise.race([
        registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
        late,
      ]);
    }
    const saved = await fetch("/api/push/subscribe", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(subscription),
    });
    if (!saved.ok) return `The dashboard could not keep this subscription (${saved.status}).`;
    return "";
  } catch (err) {
    return `Push could not subscribe (${err.message}). The phone must reach its push service (Google's or Apple's) over the internet.`;
  }
}

/** Wires the page's notification bits; app.js calls it once the page is there. */
export function startNotifications() {
  const enable = document.getElementById("notify-enable");
  const granted = "Notification" in window && Notification.permission === "granted";
  if (enable) {
    // Always there: when notifications cannot work, a tap says why.
    enable.classList.remove("hidden");
    enable.addEventListener("click", async () => {
      enable.setAttribute("data-asked", "1");
      // Whether the service worker registered is part of the answer: wait for it.
      if (worker) await worker.catch(() => {});
      const why = whyNot();
      if (why) { say(why); return; }
      // Browsers ask only on a tap.
      if (Notification.permission === "default") await Notification.requestPermission().catch(() => {});
      const again = whyNot();
      if (again) { say(again); return; }
      if (Notification.permission !== "granted") { say("Notifications were not allowed; tap Notify me again to be asked."); return; }
      say("Subscribing to push…");
      const result = await subscribePush();
      if (result === "") enable.textContent = "Notifications on";
      say(result === "" ? "Notifications on: this device gets pushed notifications, even with the page closed." : result, result === "");
    });
  }
  // Allowed before: subscribe again (a re-paired phone, a new daemon key), quietly.
  if (granted) subscribePush().then((result) => { if (result === "" && enable) enable.textContent = "Notifications on"; });
  // A tap on a pushed notification, with the page already open: sw.js names the item.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && typeof event.data.open === "string") location.hash = event.data.open;
    });
  }
  window.addEventListener("hashchange", openLinked);
  openLinked();
}
