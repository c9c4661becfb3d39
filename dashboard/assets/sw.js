// The dashboard's service worker. It makes the page an installable app and gives
// notifications a home (a click on one opens or focuses the dashboard). It has no fetch
// handler on purpose: every request goes to the network as usual, so a stale copy of
// the page is never shown in place of the live one. Browsers run it only in a secure
// context: loopback, or the HTTPS that `web --lan` serves.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// A Web Push message from the daemon: the notification as a webhook gets it (`event`,
// `title`, `message`, `agent_id`, `session_id`, ...), shown as a system notification.
self.addEventListener("push", (event) => {
  let n = {};
  try { n = event.data ? event.data.json() : {}; } catch { n = { message: event.data.text() }; }
  const item = n.agent_id ? `agent=${n.agent_id}` : n.session_id ? `session=${n.session_id}` : "";
  event.waitUntil(self.registration.showNotification(n.title || "claude-orchestra", {
    body: n.message || "",
    // One notification per item: a newer one about the same agent replaces the older.
    tag: `${n.event || "note"}:${n.agent_id || n.session_id || ""}`,
    icon: "/icon-192.png",
    badge: "/icon-192.png",
    requireInteraction: n.event === "approval_needed",
    data: { item },
  }));
});

// A tap opens the dashboard at the item (`#agent=ID`, `#session=ID`): an open page is
// focused and told which item, else a new window opens there. Links are built on this
// worker's own origin, so they lead to the dashboard the phone subscribed on.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const item = (event.notification.data && event.notification.data.item) || "";
  const url = new URL(item ? `/#${item}` : "/", self.registration.scope).href;
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
      if ("focus" in client) {
        await client.focus();
        if (item) client.postMessage({ open: `#${item}` });
        return;
      }
    }
    return self.clients.openWindow(url);
  })());
});
