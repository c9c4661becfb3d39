// The dashboard's service worker. It makes the page an installable app and gives
// notifications a home (a click on one opens or focuses the dashboard). It has no fetch
// handler on purpose: every request goes to the network as usual, so a stale copy of
// the page is never shown in place of the live one. Browsers run it only in a secure
// context: loopback, or the HTTPS that `web --lan` serves.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// A push message (Web Push) shows as a system notification.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "orchestra", {
    body: data.body || "", tag: data.tag, icon: "/icon-192.png", data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if ("focus" in client) return client.focus();
    }
    return self.clients.openWindow(url);
  })());
});
