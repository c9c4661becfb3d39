// An agent's change on a phone: files folded, each line numbered as in the agent's version;
// tap a line to comment on it, then "Send comments" (one follow-up to the agent) or
// "Approve". Opened from an agent card ("Changes") and from `#agent=ID&view=changes`, the
// link an `agent_done` notification carries. Long lines wrap: the view never scrolls
// sideways. Every text goes in with textContent.

import { $, api, el, onHost } from "./dom.js";
import { openPanel } from "./panel.js";

/** Opens `agent`'s change in the panel. */
export async function openChanges(agent) {
  openPanel(`Changes · ${agent.task}`);
  const body = $("panel-body");
  body.appendChild(el("p", { class: "card-line", text: "loading…" }));
  let change;
  try {
    change = await api("GET", onHost(`/api/agents/${encodeURIComponent(agent.id)}/diff`, agent.host));
  } catch (err) {
    body.replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  const pending = [];
  const status = el("p", { class: "card-line review-status", text: reviewLine(agent.review) });
  const send = el("button", { text: "Send comments", attrs: { type: "button", "data-action": "send-review" } });
  const approve = el("button", { text: "Approve", attrs: { type: "button", "data-action": "approve" } });
  const post = async (what) => {
    try {
      const answer = await api("POST", onHost(`/api/agents/${encodeURIComponent(agent.id)}/review`, agent.host), { comments: pending.splice(0), ...what });
      status.textContent = reviewLine(answer.review);
    } catch (err) {
      status.textContent = err.message;
    }
  };
  send.addEventListener("click", () => post({ send: true }));
  approve.addEventListener("click", () => post({ approve: true }));
  const files = (change.files || []).map((file) => fileView(file, (path, line, text) => {
    pending.push({ path, line, text });
    status.textContent = `${pending.length} comment${pending.length === 1 ? "" : "s"} to send`;
  }));
  body.replaceChildren(
    el("p", { class: "card-line", text: change.files.length ? `${change.files.length} file${change.files.length === 1 ? "" : "s"} changed` : "nothing changed yet" }),
    ...files,
    status,
    el("div", { class: "card-actions" }, [send, approve]),
  );
}

function reviewLine(review) {
  if (!review || !review.state || review.state === "none") return "not reviewed yet";
  const open = (review.comments || []).filter((c) => !c.sent).length;
  return `review: ${review.state.replace("_", " ")}${open ? `, ${open} open comment${open === 1 ? "" : "s"}` : ""}`;
}

/** One file, folded: its counts on the summary, its lines inside. */
function fileView(file, comment) {
  const name = file.old_path ? `${file.old_path} → ${file.path}` : file.path;
  const summary = el("summary", { class: "diff-file-name" }, [
    el("span", { class: `badge diff-${file.status}`, text: file.status }),
    el("span", { text: ` ${name} ` }),
    el("span", { class: "diff-count", text: `+${file.additions} −${file.deletions}` }),
  ]);
  const box = el("details", { class: "diff-file", attrs: { "data-path": file.path } }, [summary]);
  if (file.status === "binary") {
    box.appendChild(el("p", { class: "card-line", text: "binary file" }));
    return box;
  }
  for (const hunk of file.hunks || []) {
    box.appendChild(el("div", { class: "diff-hunk", text: `@@ −${hunk.old_start},${hunk.old_lines} +${hunk.new_start},${hunk.new_lines} @@` }));
    for (const line of hunk.lines || []) {
      const number = line.new_line || line.old_line || "";
      const row = el("div", { class: `diff-line diff-${line.kind}`, attrs: { "data-line": String(line.new_line || "") } }, [
        el("span", { class: "diff-no", text: String(number) }),
        el("span", { class: "diff-text", text: `${line.kind === "add" ? "+" : line.kind === "del" ? "−" : " "}${line.text}` }),
      ]);
      if (line.new_line) {
        row.addEventListener("click", () => {
          const text = window.prompt(`Comment on ${file.path}:${line.new_line}`);
          if (text && text.trim()) {
            comment(file.path, line.new_line, text.trim());
            row.classList.add("diff-commented");
          }
        });
      }
      box.appendChild(row);
    }
  }
  if (file.lines_cut) box.appendChild(el("p", { class: "card-line", text: `[${file.lines_cut} lines cut: see \`git diff\` in the worktree]` }));
  return box;
}
