// Spend: the card below the agents on the Agents tab (today against the daily cap, the newest
// batch against its cap, the caps) with an SVG chart of spend per local day for the last
// two weeks, and the body of a budget approval's card in "Needs you" (Raise and Stop).
// Every figure reaches the page as text; the chart is built with createElementNS.

import { $, api, el, usd } from "./dom.js";
import { agents } from "./agents.js";

const SVG = "http://www.w3.org/2000/svg";
const DAYS = 14;


/** YYYY-MM-DD of `date` in the page's local time. */
function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Bars of spend per day, oldest left, today right; each bar's title says its day and sum. */
function chart(days) {
  const byDay = new Map(days.map((d) => [d.day, d.cost_usd]));
  const bars = [];
  for (let back = DAYS - 1; back >= 0; back -= 1) {
    const date = new Date();
    date.setDate(date.getDate() - back);
    const day = localDay(date);
    bars.push({ day, cost: byDay.get(day) || 0 });
  }
  const max = Math.max(...bars.map((b) => b.cost), 0.01);
  const width = 280;
  const height = 48;
  const step = width / DAYS;
  const chartNode = svg("svg", { viewBox: `0 0 ${width} ${height + 12}`, class: "spend-chart", role: "img",
    "aria-label": `spend per day, last ${DAYS} days` });
  bars.forEach((bar, i) => {
    const h = bar.cost > 0 ? Math.max(2, (bar.cost / max) * height) : 1;
    const rect = svg("rect", { x: i * step + 1, y: height - h, width: step - 2, height: h,
      class: bar.cost > 0 ? "bar" : "bar empty", "data-day": bar.day, "data-cost": bar.cost });
    const title = svg("title", {});
    title.textContent = `${bar.day}: ${usd(bar.cost)}`;
    rect.appendChild(title);
    chartNode.appendChild(rect);
  });
  const first = svg("text", { x: 0, y: height + 11, class: "axis" });
  first.textContent = bars[0].day.slice(5);
  const last = svg("text", { x: width, y: height + 11, class: "axis", "text-anchor": "end" });
  last.textContent = "today";
  chartNode.append(first, last);
  return chartNode;
}

function line(label, text) {
  return el("div", { class: "card-line spend-line" }, [el("strong", { text: `${label} ` }), el("span", { text })]);
}

/** Fetches the figures and redraws the card. */
export async function refreshSpend() {
  let data;
  try {
    data = await api("GET", "/api/spend");
  } catch {
    return;
  }
  const today = data.today || {};
  const lines = [
    line("Today", today.cap_usd > 0 ? `${usd(today.spent_usd)} of ${usd(today.cap_usd)} (daily cap)`
      : `${usd(today.spent_usd)} (no daily cap)`),
  ];
  if (data.batch) {
    const b = data.batch;
    lines.push(line("This batch", b.cap_usd > 0 ? `${usd(b.spent_usd)} of ${usd(b.cap_usd)}`
      : `${usd(b.spent_usd)} (no batch cap)`));
    lines.push(line("Caps", `agent ${b.agent_cap_usd > 0 ? usd(b.agent_cap_usd) : "none"}, batch ${
      b.cap_usd > 0 ? usd(b.cap_usd) : "none"}, day ${today.cap_usd > 0 ? usd(today.cap_usd) : "none"}`));
  }
  const card = $("spend-card");
  card.replaceChildren(el("div", { class: "card-head", text: "Spend" }), ...lines, chart(data.days || []));
  card.classList.remove("hidden");
}

let pendingRefresh = null;
/** The agents' figures at the last redraw asked for. */
let lastSeen = "";

/** Agents changed: redraw the card within half a second, once for a burst of changes.
 * A pending redraw is not pushed back by later changes: busy agents change every moment,
 * and a timer reset on each change would never fire while any agent works. */
export function spendChanged() {
  // Most agent changes are activity only: ask the daemon only when a figure the card
  // shows may have moved (a cost, a state, a cap).
  const seen = [...agents.values()]
    .map((a) => `${a.id}:${a.state}:${a.total_cost_usd}:${a.max_budget_usd}:${a.batch_max_budget_usd}`)
    .join(",");
  if (seen === lastSeen) return;
  lastSeen = seen;
  if (pendingRefresh) return;
  pendingRefresh = setTimeout(() => { pendingRefresh = null; refreshSpend(); }, 500);
}

/** The body of a budget approval's card: what was spent against which cap, a raise (by
 * default the cap's amount again), Raise and Stop, answered through the card's `answer`
 * (approvals.js). */
export function budgetBody(approval, answer) {
  const box = el("div", { class: "budget-body" });
  const scope = approval.budget_scope || "agent";
  box.appendChild(el("div", { class: "card-title",
    text: `Paused at the ${scope} cap: ${usd(approval.spent_usd)} spent of ${usd(approval.budget_usd)}` }));
  // The suggested raise takes the cap past what was spent, so Raise never pauses again at
  // once (the cap's own amount, the CLI's default, can be less than an overshoot).
  const suggested = Math.max(approval.budget_usd || 0, approval.spent_usd || 0) || 1;
  const raise = el("input", { class: "budget-raise", attrs: { type: "number", min: "0", step: "any",
    inputmode: "decimal", "aria-label": "raise by (USD)",
    value: String(Math.ceil(suggested * 10000) / 10000) } });
  const error = el("p", { class: "error" });
  const buttons = el("div", { class: "card-actions approval-actions" });
  const decide = (decision) => async () => {
    const body = { decision };
    if (decision === "allow") {
      const by = Number(raise.value);
      if (!Number.isFinite(by) || by <= 0) {
        error.textContent = "give a raise in dollars above 0, like 1.50";
        return;
      }
      body.raise_usd = by;
    }
    error.textContent = "";
    if (await answer(body)) refreshSpend();
  };
  const button = (label, decision, cls) => el("button", { class: `thumb ${cls}`, text: label,
    attrs: { type: "button", "data-decision": decision }, onclick: decide(decision) });
  buttons.append(button("Raise", "allow", "ok"), button("Stop", "deny", "danger"));
  box.append(el("label", { class: "card-line", text: "Raise by $ " }, [raise]), buttons, error);
  return box;
}
