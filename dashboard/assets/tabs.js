// The tabs (Agents, Batches, Sessions, Worktrees): one shows at a time; a module can ask
// to hear when its tab is shown.

const shown = new Map();

/** Shows tab `name`. */
export function showTab(name) {
  for (const button of document.querySelectorAll("nav button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.id === name);
  const hook = shown.get(name);
  if (hook) hook();
}

/** Whether tab `name` is the one showing. */
export function tabShowing(name) {
  const tab = document.getElementById(name);
  return Boolean(tab && tab.classList.contains("active"));
}

/** Calls `hook` each time tab `name` is shown. */
export function whenShown(name, hook) {
  shown.set(name, hook);
}
