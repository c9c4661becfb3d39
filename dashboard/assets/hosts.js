// The hosts strip: one chip per other machine of `orchestractl hosts` (up, or unreachable
// since when), under the header. The cards of those machines' agents and approvals carry
// the host's name themselves (agents.js, approvals.js); this module only shows the hosts.

import { $, el } from "./dom.js";

const hosts = new Map();

function chip(host) {
  const since = new Date(host.since_ms).toLocaleTimeString();
  const text = host.state === "up"
    ? `${host.name}: up`
    : `${host.name}: ${host.state.replace("_", " ")} since ${since}`;
  const node = el("span", { class: `host-chip host-${host.state}`, text });
  if (host.error) node.title = host.error;
  return node;
}

function render() {
  const strip = $("hosts-strip");
  strip.replaceChildren(...[...hosts.values()].map(chip));
  strip.classList.toggle("hidden", hosts.size === 0);
}

/** Takes a live event: a snapshot's hosts, or one host's new state. */
export function applyHosts(event) {
  if (event.type === "snapshot") {
    hosts.clear();
    for (const h of event.hosts || []) hosts.set(h.name, h);
    render();
  } else if (event.type === "host" && event.host && hosts.has(event.host.name)) {
    // A host not in the last snapshot was removed (or is new: the resync that follows
    // brings it), so a late word from its connection does not bring it back.
    hosts.set(event.host.name, event.host);
    render();
  }
}
