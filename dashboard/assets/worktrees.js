// The worktrees tab: each agent's worktree with its diff, and a cleanup previewed before
// it is done. Loaded when the tab is shown or refreshed.

import { $, el, api } from "./dom.js";

/** Lists the worktrees of the repository in the spawn form. */
export async function loadWorktrees() {
  const list = $("worktree-list");
  try {
    const data = await api("GET", `/api/worktrees?repo=${encodeURIComponent($("spawn-repo").value)}`);
    list.replaceChildren();
    $("worktrees-empty").classList.toggle("hidden", data.worktrees.length > 0);
    for (const w of data.worktrees) {
      const d = w.diff || {};
      list.appendChild(el("li", { class: "card" }, [
        el("div", { class: "card-head" }, [
          el("span", { class: `badge state-${w.agent_state}`, text: w.agent_state }),
          el("span", { text: w.agent_id }),
          el("span", { class: "spacer" }),
          w.merged ? el("span", { class: "badge state-done", text: "merged" }) : null,
        ]),
        el("div", { class: "card-title", text: w.branch }),
        el("div", { class: "card-line", text: `${d.files_changed || 0} files, +${d.insertions || 0} −${d.deletions || 0}, ${d.commits || 0} commits${d.uncommitted ? ", uncommitted changes" : ""}` }),
        el("div", { class: "card-line", text: w.path }),
      ]));
    }
  } catch (err) {
    list.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}

/** A cleanup: previewed with `dryRun`, else done. */
export async function cleanup(dryRun) {
  const plan = $("cleanup-plan");
  try {
    const data = await api("POST", "/api/cleanup", { repo: $("spawn-repo").value, dry_run: dryRun });
    plan.replaceChildren();
    for (const a of data.actions) {
      const what = a.remove_worktree ? `${dryRun ? "would remove" : "removed"} ${a.worktree}` : `keeps ${a.worktree}: ${a.skipped}`;
      plan.appendChild(el("li", { text: what }));
    }
    if (!data.actions.length) plan.appendChild(el("li", { text: "nothing to clean up" }));
    $("do-cleanup").classList.toggle("hidden", !dryRun || !data.actions.some((a) => a.remove_worktree));
    if (!dryRun) loadWorktrees();
  } catch (err) {
    plan.replaceChildren(el("li", { class: "error", text: err.message }));
  }
}
