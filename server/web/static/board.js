// The board page: wires the socket to the replica and the replica to the views.
// Views send intents through `intents`; only this module talks to the connection.
import { api, signOut } from "./api.js";
import { Connection } from "./connection.js";
import { h, meta, s, toast } from "./dom.js";
import { exportCsv, exportJson, exportMermaid, exportPng, exportSvg } from "./exports.js";
import { Flowchart } from "./flowchart.js";
import { Grid } from "./grid.js";
import { Details, InsightPanel, TeamPanel } from "./panels.js";
import { Presence } from "./presence.js";
import { Replica } from "./replica.js";
import { renderStakeholders } from "./stakeholders.js";

const boardId = meta("board-id");
const me = meta("user");
const admin = meta("admin") === "true";
const clientId = `web-${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
const replica = new Replica(clientId);
let role = "viewer";
let idCount = 0;
const canEdit = () => role === "editor" || role === "owner";

const indicator = h("span", { id: "connection", class: "status connecting", text: "connecting" });
const title = h("h1", { id: "board-title" });
const roster = h("ul", { id: "roster" });
const svg = s("svg", { id: "canvas", tabindex: 0, "aria-label": "board canvas" });
const overlay = s("svg", { id: "drag-layer", "aria-hidden": "true" });
const canvasBox = h("div", { class: "canvas-box" }, svg, overlay);
const panel = { details: h("div", { id: "details" }), insight: h("div", { id: "insight" }),
  team: h("div", { id: "team" }), export: h("div", { id: "export" }) };
const stakeholderView = h("div", { id: "stakeholder-view", hidden: true });

const intents = {
  submit(ops) {
    if (!canEdit() && !ops.every((op) => op.op === "create" && op.element.kind === "comment")) {
      toast("Your role on this board does not allow that edit.", "error");
    }
    const id = connection.submit(ops);
    replica.addPending(id, ops);
    window.jb.sent.push(id);
    showStatus();
  },
  remove(id) {
    const cascade = replica.dependents(id).filter((d) => replica.get(d));
    intents.submit([{ op: "delete", id }]);
    if (cascade.length) toast(`Deleted ${id} and ${cascade.length} element(s) hanging on it.`);
  },
  select(ids) {
    details.select(ids);
    sendPresence({ selection: ids });
  },
  cursor(at) {
    sendPresence({ cursor: at });
  },
  refreshDetails: () => details.render(),
  newId: (prefix) => `${prefix}-${clientId.slice(4, 12)}-${Date.now().toString(36)}${(idCount++).toString(36)}`,
};

let presenceState = { cursor: null, selection: [] };
let presenceTimer = null;
function sendPresence(change) {
  presenceState = { ...presenceState, ...change };
  if (presenceTimer) return;
  presenceTimer = setTimeout(() => {
    presenceTimer = null;
    connection.send({ type: "presence", ...presenceState });
  }, 50);
}

const flowchart = new Flowchart(svg, overlay, replica, intents, canEdit);
const grid = new Grid(flowchart.layers.grid, flowchart.layers.emotion, replica, intents, canEdit,
  flowchart.lifted, (event) => flowchart.toWorld(event));
const details = new Details(panel.details, replica, intents, role, me);
const presence = new Presence(flowchart.layers.cursors, roster, me, (map) => flowchart.setRemoteSelections(map));
const insight = new InsightPanel(panel.insight, boardId, (paths) => flowchart.setTraffic(trafficOf(paths)));
const team = new TeamPanel(panel.team, boardId, role, admin);

const connection = new Connection({
  url: (since) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ client_id: clientId });
    if (since !== null && since > 0) query.set("since", since);
    return `${scheme}://${location.host}/ws/boards/${boardId}?${query}`;
  },
  since: () => replica.seq,
  onStatus: (status, detail) => {
    showStatus();
    if (status === "closed") toast(detail?.code === 4403 ? "You were removed from this board." : `Disconnected: ${detail?.reason || detail?.code}`, "error");
    if (status !== "online") presence.reset();
  },
  onAnswer: (kind, message) => {
    if (kind === "ack") replica.answered(message.client_op_id, message.seq);
    else {
      replica.answered(message.client_op_id, null);
      toast(`Edit refused (${message.code}): ${message.message}`, "error");
    }
    showStatus();
  },
  onMessage: (message) => receive(message),
});

function showStatus() {
  const { status, unanswered } = connection;
  indicator.className = `status ${status}`;
  indicator.textContent = !unanswered.size ? status
    : status === "online" ? `online · sending ${unanswered.size}` : `${status} · ${unanswered.size} queued`;
}

function receive(message) {
  switch (message.type) {
    case "welcome":
      setRole(message.role);
      return;
    case "snapshot":
    case "snapshot_chunk": {
      const arrived = performance.now();
      if (!replica.applySnapshot(message)) return;
      window.jb.snapshots++;
      // Interactive = rendered and the next frame painted (read by bench/web.py).
      requestAnimationFrame(() => setTimeout(() => { window.jb.interactiveMs = performance.now() - arrived; }));
      return;
    }
    case "op": {
      window.jb.lastOpAt = performance.now();
      const outcome = replica.applyOp(message);
      if (outcome === "gap" || outcome === "stale") resyncSoon();
      return;
    }
    case "presence":
      return presence.update(message);
    case "left":
      return presence.left(message);
    case "insight":
      grid.setEmotion(message.stages || []);
      if (message.paths) insight.paths = message.paths;
      insightSoon();
      return;
    default:
  }
}

// Protocol 1 fallback (see replica.js): coalesce resyncs so a burst of ops costs one snapshot.
let resyncTimer = null;
function resyncSoon() {
  if (resyncTimer) return;
  resyncTimer = setTimeout(() => {
    resyncTimer = null;
    connection.resync();
  }, 100);
}

let insightTimer = null;
function insightSoon() {
  clearTimeout(insightTimer);
  insightTimer = setTimeout(() => insight.refresh(), 1000);
}

function setRole(next) {
  role = next;
  details.role = team.role = next;
  document.body.dataset.role = next;
  team.refresh().catch(() => {});
  flowchart.render(null);
  grid.render();
}

function trafficOf(paths) {
  if (!paths) return null;
  const byPair = new Map();
  for (const p of paths.paths) {
    for (let i = 1; i < p.nodes.length; i++) {
      const key = `${p.nodes[i - 1]}>${p.nodes[i]}`;
      byPair.set(key, (byPair.get(key) || 0) + p.customers);
    }
  }
  const traffic = new Map();
  for (const e of replica.elements("edge")) traffic.set(e.id, byPair.get(`${e.source}>${e.target}`) || 0);
  traffic.max = Math.max(1, ...traffic.values());
  return traffic;
}

replica.subscribe((ids, boardChanged) => {
  const t0 = performance.now();
  const structural = ids === null || [...ids].some((id) => {
    const kind = replica.get(id)?.kind ?? replica.committed.get(id)?.kind;
    return kind === "stage" || kind === "lane" || kind === undefined;
  });
  flowchart.render(ids);
  if (structural) grid.render();
  if (boardChanged || ids === null) title.textContent = replica.boardView().title || "Untitled";
  details.render(ids);
  window.jb.lastRender = { ms: performance.now() - t0, at: performance.now(), seq: replica.seq };
});

function addNode(type) {
  const at = flowchart.center();
  const id = intents.newId("n");
  intents.submit([{ op: "create", element: { kind: "node", id, type, label: `New ${type.replace(/_/g, " ")}`,
    x: Math.round(at.x), y: Math.round(at.y), ...(type === "touchpoint" ? { channel: "web" } : {}) } }]);
  flowchart.setSelection([id]);
}

function toolbar() {
  const type = h("select", { "aria-label": "node type", class: "edit-only" }, ...["step", "touchpoint", "decision",
    "moment_of_truth", "pain_point", "opportunity", "start", "end", "note"].map((t) => h("option", { value: t, text: t.replace(/_/g, " ") })));
  const button = (text, onclick, cls = "") => h("button", { class: cls, onclick, text });
  const boardTab = button("Board", () => showView(false), "view-tab active");
  const stakeTab = button("Stakeholders", () => showView(true), "view-tab");
  return h("header", { class: "toolbar" }, h("a", { href: "/", class: "home", text: "◀ Boards" }), title, indicator,
    h("span", { class: "spacer" }), boardTab, stakeTab,
    type, button("Add node", () => addNode(type.value), "edit-only primary"),
    button("Add stage", () => intents.submit([{ op: "create", element: { kind: "stage", id: intents.newId("stage"), label: "New stage" } }]), "edit-only"),
    button("Add lane", () => intents.submit([{ op: "create", element: { kind: "lane", id: intents.newId("lane"), label: "New lane" } }]), "edit-only"),
    button("Fit", () => flowchart.fit()), button("+", () => zoomBy(1.25)), button("−", () => zoomBy(0.8)),
    h("ul", { class: "roster-wrap" }, roster), button("Sign out", signOut));
}

function zoomBy(factor) {
  const { width, height } = svg.getBoundingClientRect();
  flowchart.zoom(factor, width / 2, height / 2);
}

function showView(stakeholders) {
  stakeholderView.hidden = !stakeholders;
  canvasBox.hidden = stakeholders;
  for (const [i, tab] of document.querySelectorAll(".view-tab").entries()) tab.classList.toggle("active", (i === 1) === stakeholders);
  if (stakeholders) renderStakeholders(stakeholderView, boardId).catch((e) => toast(e.message, "error"));
}

function sidePanel() {
  const tabs = ["details", "insight", "team", "export"];
  const bar = h("nav", { class: "tabs" }, ...tabs.map((name) => h("button", { class: `tab tab-${name}`, text: name,
    onclick: () => {
      for (const t of tabs) panel[t].hidden = t !== name;
      if (name === "insight") insight.refresh();
      if (name === "team") team.refresh();
    } })));
  for (const t of tabs.slice(1)) panel[t].hidden = true;
  const button = (text, action) => h("button", { text, onclick: action });
  panel.export.append(h("h4", { text: "Export" }), button("JSON", () => exportJson(replica)), button("CSV", () => exportCsv(replica)),
    button("Mermaid", () => exportMermaid(replica)), button("SVG of this view", () => exportSvg(replica, svg)),
    button("PNG of this view", () => exportPng(replica, svg)));
  return h("aside", { class: "side" }, bar, ...Object.values(panel));
}

function keyboard(event) {
  if (event.target.closest("input, textarea, select")) return;
  const selected = [...flowchart.selection];
  const step = event.shiftKey ? 1 : 10;
  const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (event.key === "Escape") flowchart.setSelection([]);
  else if (!canEdit() || !selected.length) return;
  else if (event.key === "Delete" || event.key === "Backspace") selected.forEach((id) => intents.remove(id));
  else if (event.key === "Enter") flowchart.editLabel(selected[0]);
  else if (arrows[event.key]) flowchart.nudge(...arrows[event.key]);
  else return;
  event.preventDefault();
}

window.jb = { replica, connection, flowchart, intents, sent: [], snapshots: 0, lastRender: null };
document.body.append(toolbar(), h("main", { class: "board-main" }, canvasBox, stakeholderView, sidePanel()));
document.addEventListener("keydown", keyboard);
window.addEventListener("offline", () => connection.pause());
window.addEventListener("online", () => connection.resume());
details.render();
api("GET", `/api/boards/${boardId}/insights/emotion`).then((curve) => grid.setEmotion(curve.stages)).catch(() => {});
if (navigator.onLine) connection.start();
else connection.pause();
let fitted = false;
replica.subscribe((ids) => {
  if (ids === null && !fitted) {
    fitted = true;
    requestAnimationFrame(() => flowchart.fit());
  }
});
