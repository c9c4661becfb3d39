// claude-orchestra dashboard: the page's entry module. It wires the tabs and forms and
// hands each live event to the module that shows it:
//
//   live.js       the one WebSocket of numbered events (replay, resync)
//   agents.js     agent cards, updated in place     batches.js  the batch view
//   sessions.js   sessions, search, transcripts     worktrees.js  worktrees and cleanup
//   logs.js       an agent's live logs              panel.js    the panel they open in
//   approvals.js  the "Needs you" strip             notify.js   toasts, title, Web Push
//   transcript.js typed transcript events           dom.js      helpers; text is never HTML
//   tabs.js       which tab shows                   icons.js    a glyph per state
//   devices.js    "Add a device": a pairing code, link and QR code
//   hosts.js      other machines' states            spend.js    the spend card, budget cards

import { $, api, el, tickAgo } from "./dom.js";
import { connect } from "./live.js";
import { resetAgents, upsertAgent, removeAgent, onAgentsChanged, tickTimes, spawn } from "./agents.js";
import { resetSessions, applySession, search, showAll } from "./sessions.js";
import { loadWorktrees, cleanup } from "./worktrees.js";
import { renderBatches } from "./batches.js";
import { applyApprovals, agentChanged } from "./approvals.js";
import { applyHosts } from "./hosts.js";
import { notified, startNotifications, registerWorker } from "./notify.js";
import { addDevice } from "./devices.js";
import { closePanel } from "./panel.js";
import { showTab, tabShowing, whenShown } from "./tabs.js";
import { refreshSpend, spendChanged } from "./spend.js";

/** One live event, to the module that shows it. */
function apply(event) {
  applyApprovals(event);
  applyHosts(event);
  switch (event.type) {
    case "snapshot":
      resetAgents(event.agents || []);
      resetSessions(event.sessions || []);
      break;
    case "agent":
      if (!event.agent) break;
      // "removed": the agent was forgotten (`orchestractl forget`).
      if (event.kind === "removed") removeAgent(event.agent.id);
      else { upsertAgent(event.agent); agentChanged(event.agent); }
      break;
    case "session":
      if (event.session) applySession(event.kind, event.session);
      break;
    case "notification":
      if (event.notification) notified(event.notification);
      break;
    default:
      break;
  }
}

/** Shows what is wrong with the daemon's disk or store, or hides the banner. */
async function showConditions() {
  let conditions = [];
  try {
    conditions = (await api("GET", "/api/health")).conditions || [];
  } catch {
    return;
  }
  const banner = $("conditions");
  banner.replaceChildren(...conditions.map((line) => el("p", { text: line })));
  banner.classList.toggle("hidden", conditions.length === 0);
}

document.addEventListener("DOMContentLoaded", async () => {
  for (const button of document.querySelectorAll("nav button")) button.addEventListener("click", () => showTab(button.dataset.tab));
  whenShown("worktrees", loadWorktrees);
  whenShown("batches", renderBatches);
  // The batch view follows the agents while it shows.
  onAgentsChanged(() => { if (tabShowing("batches")) renderBatches(); });
  onAgentsChanged(spendChanged);
  refreshSpend();
  $("spawn-form").addEventListener("submit", spawn);
  // The spawn form is folded away on a phone until asked for; a wide screen shows it.
  if (window.matchMedia("(min-width: 700px)").matches) $("spawn-fold").open = true;
  $("add-device").addEventListener("click", addDevice);
  $("search-form").addEventListener("submit", search);
  $("search").addEventListener("input", () => { if (!$("search").value) showAll(); });
  $("panel-close").addEventListener("click", closePanel);
  $("refresh-worktrees").addEventListener("click", loadWorktrees);
  $("preview-cleanup").addEventListener("click", () => cleanup(true));
  $("do-cleanup").addEventListener("click", () => cleanup(false));
  try {
    const info = await api("GET", "/api/info");
    $("spawn-repo").value = info.repo || "";
    // Over TLS: the certificate's fingerprint, to compare with what the terminal printed.
    if (info.fingerprint_sha256) {
      $("cert-fingerprint").textContent = `Certificate SHA-256: ${info.fingerprint_sha256}`;
      $("cert-fingerprint").classList.remove("hidden");
    }
  } catch (err) {
    $("spawn-error").textContent = err.message;
  }
  // Running agents' elapsed times and every "12s ago" change without an event.
  setInterval(() => { tickTimes(); tickAgo(); }, 1000);
  // A full disk or a damaged store shows as a banner while it lasts.
  showConditions();
  setInterval(showConditions, 5000);
  connect(apply);
  // The service worker (installable app, notification clicks); secure contexts only.
  registerWorker();
  startNotifications();
});
