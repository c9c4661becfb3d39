// Icons for agents' states: one glyph each, beside the word (never instead of it), so a
// state reads at a glance on a phone and still reads without colour.

const GLYPHS = {
  queued: "⋯", starting: "◌", running: "▶", waiting: "●", done: "✓",
  failed: "✗", stopped: "■", interrupted: "⚠", merged: "✓", uncommitted: "✎", ahead: "↑",
};

/** A small icon for `state` (a span; hidden from screen readers, the word says it). */
export function stateIcon(state) {
  const icon = document.createElement("span");
  icon.className = `icon icon-${state}`;
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = GLYPHS[state] || "•";
  return icon;
}
