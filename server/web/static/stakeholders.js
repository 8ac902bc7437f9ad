// The stakeholder power–interest grid, as its own view.
import { api } from "./api.js";
import { h } from "./dom.js";

const QUADRANTS = [
  ["keep_satisfied", "Keep satisfied", "high power, low interest"],
  ["manage_closely", "Manage closely", "high power, high interest"],
  ["monitor", "Monitor", "low power, low interest"],
  ["keep_informed", "Keep informed", "low power, high interest"],
];

export async function renderStakeholders(root, boardId) {
  const grid = await api("GET", `/api/boards/${boardId}/insights/stakeholders`);
  root.replaceChildren(h("div", { class: "quadrants" }, ...QUADRANTS.map(([key, title, hint]) =>
    h("section", { class: `quadrant ${key}` }, h("h3", { text: title }), h("p", { class: "muted", text: hint }),
      h("ul", {}, ...grid[key].map((p) => h("li", { class: "stakeholder" },
        h("strong", { text: p.label || p.id }),
        h("span", { class: "muted", text: ` power ${p.influence} · interest ${p.interest}` }),
        p.risks.length ? h("div", { class: "risk", text: `Risks: ${p.risks.join("; ")}` }) : null)))))));
}
