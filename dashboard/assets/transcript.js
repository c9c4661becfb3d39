// An agent's transcript: one DOM node per typed transcript event, as the daemon read it
// from Claude Code's stream-json (this file never parses a stream-json line; `orchestractl
// logs` renders the same events). Text reaches the page through textContent only.

function message(role, text, cls, kind) {
  const node = document.createElement("div");
  node.className = `msg ${cls}`;
  node.setAttribute("data-kind", kind);
  const label = document.createElement("span");
  label.className = "role";
  label.textContent = role;
  node.append(label, document.createTextNode(String(text)));
  return node;
}

/** The node for one event (`{"event":{"tool_use":{...}}}`), or null for an unknown one. */
export function render(event) {
  const [kind, e] = Object.entries((event && event.event) || {})[0] || [];
  if (!e) return null;
  switch (kind) {
    case "session_started": return message("session", `${e.session_id} · ${e.model} · ${e.cwd}`, "tool", kind);
    case "text": return message("assistant", e.text, "assistant", kind);
    case "tool_use": return message(`tool · ${e.name}`, e.input_json, "tool", kind);
    case "tool_result": return message(e.is_error ? "tool error" : "tool result", e.content, "tool_result", kind);
    case "permission_request": return message("waiting for approval", `${e.tool_name} ${e.input_json}`, "tool", kind);
    case "result": return message(e.is_error ? "failed" : "turn finished", `${e.text} (session so far $${(e.total_cost_usd || 0).toFixed(4)})`, "result", kind);
    case "user_message": return message("you", e.text, "user", kind);
    case "output": return message("output", e.text, "output", kind);
    default: return null;
  }
}
