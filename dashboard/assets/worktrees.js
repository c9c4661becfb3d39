// The worktrees tab: each agent's worktree with its diff, and a cleanup previewed before
// it is done. Loaded when the tab is shown or refreshed.

import { $, el, api } from "./dom.js";
import { stateIcon } from "./icons.js";

/**
 * What a worktree's branch badge says: "merged" only when the branch is merged and the
 * worktree is clean (removing it loses nothing); else "uncommitted changes" or "ahead N".
 */
export function branchBadge(w) {
  const d = w.diff || {};
  if (d.uncommitted) return { text: "uncommitted changes", cls: "state-waiting", icon: "uncommitted" };
  // A branch with no commits is "in HEAD" trivially: while its agent still works, that is
  // not news of a merge.
  const working = ["queued", "starting", "running", "waiting"].includes(w.agent_state);
  if (!d.commits && working) return { text: "no commits yet", cls: "state-queued", icon: "ahead" };
  if (w.merged) return { text: "merged", cls: "state-done", icon: "merged" };
  if (d.commits) return { text: `ahead ${d.commits}`, cls: "state-running", icon: "ahead" };
  return null;
}

/** Lists the worktrees of the repository in the spawn form. */
export async function loadWorktrees() {
  const list = $("worktree-list");
  try {
    const data = await api("GET", `/api/worktrees?repo=${encodeURIComponent($("spawn-repo").value)}`);
    list.replaceChildren();
    $("worktrees-empty").classList.toggle("hidden", data.worktrees.length > 0);
    for (const w of data.worktrees) {
      const d = w.diff || {};
      const badge = branchBadge(w);
      list.appendChild(el("li", { class: "card worktree", attrs: { "data-agent-id": w.agent_id || "" } }, [
        el("div", { class: "card-head" }, [
          el("span", { class: `badge state-${w.agent_state}` }, [stateIcon(w.agent_state), document.createTextNode(` ${w.agent_state}`)]),
          el("span", { text: w.agent_id }),
          el("span", { class: "spacer" }),
          badge ? el("span", { class: `badge branch-badge ${badge.cls}`, attrs: { "data-branch-state": badge.text } }, [stateIcon(badge.icon), document.createTextNode(` ${badge.text}`)]) : null,
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
