// An agent's transcript: one DOM node per typed transcript event, as the daemon read it
// from Claude Code's stream-json (this file never parses a stream-json line; `orchestractl
// logs` renders the same events). Text reaches the page through textContent only.

function message(role, text, cls, kind, raw) {
  const node = document.createElement("div");
  node.className = `msg ${cls}`;
  node.setAttribute("data-kind", kind);
  const label = document.createElement("span");
  label.className = "role";
  label.textContent = role;
  node.append(label, document.createTextNode(String(text)));
  if (raw !== undefined) {
    // The raw JSON, shown only while the panel's "Raw JSON" toggle is on.
    const pre = document.createElement("pre");
    pre.className = "raw";
    pre.textContent = raw;
    node.append(pre);
  }
  return node;
}

/** A tool call as a person reads it: `$ command`, a path, or `key: value` lines. */
export function toolText(name, inputJson) {
  let input = null;
  try { input = JSON.parse(inputJson || "{}"); } catch (_) { return String(inputJson || ""); }
  if (!input || typeof input !== "object") return String(inputJson || "");
  if (typeof input.command === "string") return `$ ${input.command}`;
  const lines = [];
  if (typeof input.file_path === "string") lines.push(input.file_path);
  for (const [key, value] of Object.entries(input)) {
    if (key === "file_path" || key === "content" || key === "old_string" || key === "new_string") continue;
    lines.push(`${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  for (const key of ["content", "new_string"]) {
    if (typeof input[key] === "string") {
      const text = input[key].split("\n");
      lines.push(`${text.slice(0, 3).join("\n")}${text.length > 3 ? `\n… ${text.length - 3} more lines` : ""}`);
    }
  }
  return lines.join("\n") || name;
}

/** The node for one event (`{"event":{"tool_use":{...}}}`), or null for an unknown one. */
export function render(event) {
  const [kind, e] = Object.entries((event && event.event) || {})[0] || [];
  if (!e) return null;
  switch (kind) {
    case "session_started": return message("session", `${e.session_id} · ${e.model} · ${e.cwd}`, "tool", kind);
    case "text": return message("assistant", e.text, "assistant", kind);
    case "tool_use": return message(`tool · ${e.name}`, toolText(e.name, e.input_json), "tool", kind, e.input_json);
    case "tool_result": return message(e.is_error ? "tool error" : "tool result", e.content, "tool_result", kind);
    case "permission_request": return message(`waiting for approval · ${e.tool_name}`, toolText(e.tool_name, e.input_json), "tool", kind, e.input_json);
    case "result": return message(e.is_error ? "failed" : "turn finished", `${e.text} (session so far $${(e.total_cost_usd || 0).toFixed(4)})`, "result", kind);
    case "user_message": return message(e.from || "you", e.text, "user", kind);
    case "output": return message("output", e.text, "output", kind);
    default: return null;
  }
}
