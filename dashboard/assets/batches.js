// claude-orchestra dashboard: the batch view. For each batch (one spawn), its agents with
// the overlap radar's marks and `--after` chains, "Preview merge" (the dry run: which
// agents' work conflicts, nothing changed), "Merge" (one integration branch; what was
// left out and why; verified when the repository's .orchestra.json names a check), the
// verified merge's state (merging, verifying, repairing, green, red, conflicted) with the
// culprit and the end of the failing output, "Repair" for a red batch, and the report. It reads the live `agents` map of agents.js and
// keeps its own cards, one per batch, updated in place when the view shows.

import { $, el, api, onHost } from "./dom.js";
import { agents } from "./agents.js";
import { threadView } from "./thread.js";

const batchCards = new Map();

/** Agents grouped by batch, newest batch first; each batch's agents in spawn order. */
function batchesOf(all) {
  const groups = new Map();
  for (const agent of all) {
    if (!agent.batch_id) continue;
    if (!groups.has(agent.batch_id)) groups.set(agent.batch_id, []);
    groups.get(agent.batch_id).push(agent);
  }
  for (const list of groups.values()) list.sort((a, b) => a.created_at_ms - b.created_at_ms);
  return [...groups.entries()].sort((a, b) => b[1][0].created_at_ms - a[1][0].created_at_ms);
}

/** The lines under an agent: what else touched its files, and what it waits for. */
function agentMarks(agent) {
  const marks = (agent.overlaps || []).map((o) =>
    el("div", { class: "card-line overlap-mark", text: `⚠ also changed by ${o.agent_id}: ${o.paths.join(", ")}` }));
  if (agent.after) marks.push(el("div", { class: "card-line", text: `↳ runs after ${agent.after}` }));
  if (agent.merge_status) marks.push(el("div", { class: "card-line", text: agent.merge_status }));
  return marks;
}

function createBatchCard(batchId) {
  const result = el("div", { class: "batch-result" });
  const verified = el("div", { class: "batch-verified hidden" });
  const rows = el("div", { class: "batch-rows" });
  const title = el("span", { text: `batch ${batchId}` });
  // Another machine's batch names it, as its agents' and approvals' cards do.
  const hostBadge = el("span", { class: "badge host-badge hidden" });
  const run = (what) => async () => {
    const repo = (batchCards.get(batchId).repo) || "";
    const host = batchCards.get(batchId).host;
    result.replaceChildren(el("div", { class: "card-line", text: "working…" }));
    try {
      if (what === "report") {
        const report = await api("GET", onHost(`/api/report?batch=${encodeURIComponent(batchId)}&repo=${encodeURIComponent(repo)}`, host));
        const copy = el("button", { class: "small", text: "Copy", attrs: { type: "button", "data-action": "copy-report" },
          onclick: () => navigator.clipboard?.writeText(report.markdown).then(() => { copy.textContent = "Copied"; }, () => { copy.textContent = "Copy failed: select the text"; }) });
        const shown = el("pre", { class: "report", text: report.markdown });
        result.replaceChildren(copy, shown);
        // It opens below the batch's buttons, often under the fold of a phone: bring it up.
        copy.scrollIntoView({ block: "start", behavior: "smooth" });
      } else if (what === "repair") {
        const last = batchCards.get(batchId).run || {};
        const answer = await api("POST", "/api/merge", { repo, host, batch_id: batchId, verify: (last.verify || {}).command || "", repair: 1 });
        result.replaceChildren();
        showRun(batchId, answer);
      } else {
        const answer = await api("POST", "/api/merge", { repo, host, batch_id: batchId, dry_run: what === "preview" });
        if (answer.verify) {
          result.replaceChildren();
          showRun(batchId, answer);
        } else {
          result.replaceChildren(...mergeLines(answer));
        }
      }
    } catch (err) {
      result.replaceChildren(el("div", { class: "error", text: err.message }));
    }
  };
  // Offered only where there is something to merge (renderBatches shows or hides them).
  const mergeButtons = [
    el("button", { text: "Preview merge", attrs: { type: "button", "data-action": "preview-merge" }, onclick: run("preview") }),
    el("button", { text: "Merge", attrs: { type: "button", "data-action": "merge" }, onclick: run("merge") }),
  ];
  const card = el("li", { class: "card batch", attrs: { "data-batch-id": batchId } }, [
    el("div", { class: "card-head" }, [title, hostBadge, el("span", { class: "spacer" })]),
    rows,
    el("div", { class: "card-actions" }, [
      mergeButtons[0],
      mergeButtons[1],
      el("button", { text: "Report", attrs: { type: "button", "data-action": "report" }, onclick: run("report") }),
    ]),
    verified,
    result,
  ]);
  const thread = threadView(batchId, () => (batchCards.get(batchId) || {}).host || "");
  card.append(thread);
  const entry = { card, rows, mergeButtons, thread, hostBadge, repo: "", host: "", signature: "", verified, repairButton: run("repair"), run: null, polling: false };
  batchCards.set(batchId, entry);
  return entry;
}

const FINAL = new Set(["green", "red", "conflicted"]);

/** Where the page asks for batch `batchId`'s verified merge (on the machine that runs it). */
function statusUrl(batchId, entry) {
  return onHost(`/api/merge-status?batch=${encodeURIComponent(batchId)}&repo=${encodeURIComponent(entry.repo || "")}`, entry.host);
}

/** A verified merge's state on its batch card; follows it until it ends. */
function showRun(batchId, run) {
  const entry = batchCards.get(batchId);
  if (!entry || !run || !run.verify) return;
  entry.run = run;
  const verify = run.verify;
  const icon = { green: "✓", red: "✗", conflicted: "✗" }[run.state] || "…";
  const lines = [
    el("div", { class: `card-head` }, [
      el("span", { class: `badge verify-${run.state}`, text: `${icon} ${run.state}` }),
      el("span", { text: `${verify.command} · ${verify.verifications} check${verify.verifications === 1 ? "" : "s"}` }),
    ]),
  ];
  if (run.reason) lines.push(el("div", { class: "card-line", text: run.reason }));
  if (verify.culprit_agent_id) lines.push(el("div", { class: "card-line", text: `culprit: agent ${verify.culprit_agent_id}` }));
  for (const round of run.rounds || []) {
    lines.push(el("div", { class: "card-line", text: `round ${round.round}: ${round.action.replace("_", " ")} → ${round.culprit_agent_id}: ${round.result}` }));
  }
  if (verify.state === "red" && verify.output_tail) {
    const tail = verify.output_tail.split("\n").slice(-12).join("\n");
    lines.push(el("pre", { class: "report verify-tail", text: tail }));
  }
  if (run.state === "red" && !verify.base_red) {
    lines.push(el("div", { class: "card-actions" }, [
      el("button", { text: "Repair", attrs: { type: "button", "data-action": "repair" }, onclick: entry.repairButton }),
    ]));
  }
  entry.verified.replaceChildren(...lines);
  entry.verified.classList.remove("hidden");
  if (!FINAL.has(run.state)) follow(batchId);
}

/** Polls the batch's verified merge every 2 s until it ends. */
function follow(batchId) {
  const entry = batchCards.get(batchId);
  if (!entry || entry.polling) return;
  entry.polling = true;
  setTimeout(async () => {
    entry.polling = false;
    try {
      const status = await api("GET", statusUrl(batchId, entry));
      if (status.runs && status.runs.length) showRun(batchId, status.runs[0]);
    } catch (_) {
      follow(batchId);
    }
  }, 2000);
}

/** The last verified merge of a new card's batch, if it had one. */
async function loadRun(batchId) {
  const entry = batchCards.get(batchId);
  try {
    const status = await api("GET", statusUrl(batchId, entry));
    if (status.runs && status.runs.length) showRun(batchId, status.runs[0]);
  } catch (_) { /* no run: nothing to show */ }
}

/** A merge (or preview) answer as lines of text. */
function mergeLines(answer) {
  const lines = [];
  if (answer.dry_run) {
    if (!answer.conflicts.length) lines.push("No conflicts: every branch merges cleanly with every other.");
    for (const c of answer.conflicts) lines.push(`✗ ${c.agents.join(" and ")} conflict on ${c.paths.join(", ")}`);
    lines.push("Nothing was changed.");
  } else {
    lines.push(answer.merged.length ? `✓ merged into ${answer.branch}: ${answer.merged.join(", ")}` : `nothing merged into ${answer.branch}`);
    if (answer.worktree) lines.push(`worktree: ${answer.worktree}`);
  }
  for (const s of answer.skipped || []) lines.push(`left out: ${s.agent_id} (${s.reason})`);
  return lines.map((text) => el("div", { class: "card-line merge-line", text }));
}

/** Brings the batch cards up to date with the agents (a batch's rows only when they changed). */
export function renderBatches() {
  const list = $("batch-list");
  if (!list) return;
  const batches = batchesOf([...agents.values()]);
  $("batches-empty").classList.toggle("hidden", batches.length > 0);
  const seen = new Set();
  batches.forEach(([batchId, members], index) => {
    seen.add(batchId);
    const fresh = !batchCards.has(batchId);
    const entry = batchCards.get(batchId) || createBatchCard(batchId);
    entry.repo = members[0].repo;
    // Another machine's batch: its buttons, thread and checks go to that machine.
    entry.host = members[0].host || "";
    entry.hostBadge.textContent = entry.host;
    entry.hostBadge.classList.toggle("hidden", !entry.host);
    if (fresh) loadRun(batchId);
    // Rows are rebuilt only when something shown in them changed.
    // The thread is asked again when agents come, go or change state, not at every
    // step of their work.
    const threadSignature = JSON.stringify(members.map((a) => [a.id, a.state, a.overlaps]));
    if (threadSignature !== entry.threadSignature) {
      entry.threadSignature = threadSignature;
      entry.thread.refresh();
    }
    const signature = JSON.stringify(members.map((a) => [a.id, a.state, a.overlaps, a.after, a.merge_status, a.activity]));
    if (signature !== entry.signature) {
      entry.signature = signature;
      entry.card.classList.toggle("has-overlap", members.some((a) => (a.overlaps || []).length));
      entry.rows.replaceChildren(...members.map((a) => el("div", { class: "batch-agent", attrs: { "data-agent-id": a.id } }, [
        el("div", { class: "card-head" }, [
          el("span", { class: `badge state-${a.state}`, text: a.state }),
          el("span", { text: a.id }),
          (a.overlaps || []).length ? el("span", { class: "badge overlap-badge", text: "overlap" }) : null,
        ]),
        el("div", { class: "card-title", text: a.task }),
        ...agentMarks(a),
      ])));
    }
    // Something to merge: two or more branches of the batch (one branch alone is merged by
    // `orchestractl merge` or from its Changes panel, not as an integration branch).
    const mergeable = members.filter((a) => a.branch).length >= 2;
    for (const b of entry.mergeButtons) b.classList.toggle("hidden", !mergeable);
    if (list.children[index] !== entry.card) list.insertBefore(entry.card, list.children[index] || null);
  });
  for (const [batchId, entry] of batchCards) {
    if (!seen.has(batchId)) { entry.card.remove(); batchCards.delete(batchId); }
  }
}
