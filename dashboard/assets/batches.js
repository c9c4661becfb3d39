// claude-orchestra dashboard: the batch view. For each batch (one spawn), its agents with
// the overlap radar's marks and `--after` chains, "Preview merge" (the dry run: which
// agents' work conflicts, nothing changed), "Merge" (one integration branch; what was
// left out and why) and the batch report. It reads the live `agents` map of agents.js and
// keeps its own cards, one per batch, updated in place when the view shows.

import { $, el, api } from "./dom.js";
import { agents } from "./agents.js";

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
  const rows = el("div", { class: "batch-rows" });
  const title = el("span", { text: `batch ${batchId}` });
  const run = (what) => async () => {
    const repo = (batchCards.get(batchId).repo) || "";
    result.replaceChildren(el("div", { class: "card-line", text: "working…" }));
    try {
      if (what === "report") {
        const report = await api("GET", `/api/report?batch=${encodeURIComponent(batchId)}&repo=${encodeURIComponent(repo)}`);
        result.replaceChildren(el("pre", { class: "report", text: report.markdown }));
      } else {
        const answer = await api("POST", "/api/merge", { repo, batch_id: batchId, dry_run: what === "preview" });
        result.replaceChildren(...mergeLines(answer));
      }
    } catch (err) {
      result.replaceChildren(el("div", { class: "error", text: err.message }));
    }
  };
  const card = el("li", { class: "card batch", attrs: { "data-batch-id": batchId } }, [
    el("div", { class: "card-head" }, [title, el("span", { class: "spacer" })]),
    rows,
    el("div", { class: "card-actions" }, [
      el("button", { text: "Preview merge", attrs: { type: "button", "data-action": "preview-merge" }, onclick: run("preview") }),
      el("button", { text: "Merge", attrs: { type: "button", "data-action": "merge" }, onclick: run("merge") }),
      el("button", { text: "Report", attrs: { type: "button", "data-action": "report" }, onclick: run("report") }),
    ]),
    result,
  ]);
  const entry = { card, rows, repo: "", signature: "" };
  batchCards.set(batchId, entry);
  return entry;
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
    const entry = batchCards.get(batchId) || createBatchCard(batchId);
    entry.repo = members[0].repo;
    // Rows are rebuilt only when something shown in them changed.
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
    if (list.children[index] !== entry.card) list.insertBefore(entry.card, list.children[index] || null);
  });
  for (const [batchId, entry] of batchCards) {
    if (!seen.has(batchId)) { entry.card.remove(); batchCards.delete(batchId); }
  }
}
