// The canvas: pan and zoom, nodes and edges drawn from the replica, and the gestures that
// turn into intents (create, move, connect, relabel, delete). It never talks to the socket.
import { s, h } from "./dom.js";
import { NODE_H, NODE_W, cellAt, nodeCenter } from "./geometry.js";

const ICONS = { web: "🌐", app: "📱", email: "✉", phone: "☎", chat: "💬", store: "🏬",
  social: "👥", mail: "📮", in_person: "🤝", other: "•" };
const DIAMONDS = new Set(["decision", "moment_of_truth"]);

export class Flowchart {
  /**
   * svg: the board canvas; overlay: an empty <svg> stacked over it, where whatever is being
   * dragged is drawn, so a drag repaints a few shapes instead of the whole board.
   * intents: {submit(ops), select(ids), newId(prefix)}; canEdit(): the role allows edits.
   */
  constructor(svg, overlay, replica, intents, canEdit) {
    Object.assign(this, { svg, overlay, replica, intents, canEdit });
    this.view = { x: 160, y: 20, k: 1 };
    this.world = s("g", { class: "world" });
    this.layers = {};
    for (const name of ["grid", "emotion", "edges", "nodes", "cursors"]) {
      this.layers[name] = this.world.appendChild(s("g", { class: `layer-${name}` }));
    }
    svg.append(
      s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
        markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
      this.world,
    );
    this.lifted = overlay.appendChild(s("g", { class: "world lifted" })); // dragged shapes
    this.shapes = new Map(); // element id -> <g>
    this.edgesOf = new Map(); // node id -> Set of edge ids
    this.selection = new Set();
    this.remoteSelected = new Map(); // element id -> colour
    this.traffic = null; // edge id -> customers, when paths are shown
    this.drag = null;
    this.box = null; // the canvas's screen rectangle, kept until it is resized
    this.pointer = null; // the latest pointer position, applied on the next animation frame
    this.bindGestures();
    this.applyTransform();
  }

  /** Redraw what changed: `ids` from the replica, or everything when null. */
  render(ids) {
    if (ids === null) {
      this.layers.nodes.replaceChildren();
      this.layers.edges.replaceChildren();
      this.shapes.clear();
      this.edgesOf.clear();
      ids = this.replica.view.keys();
    }
    const edges = new Set();
    for (const id of ids) {
      const element = this.replica.get(id);
      const old = this.shapes.get(id);
      const kind = element?.kind ?? (old ? (old.classList.contains("edge") ? "edge" : "node") : null);
      if (kind === "node") {
        this.drawNode(id, element);
        for (const e of this.edgesOf.get(id) || []) edges.add(e);
      } else if (kind === "edge") edges.add(id);
    }
    for (const id of edges) this.drawEdge(id, this.replica.get(id));
    for (const id of [...this.selection]) if (!this.replica.get(id)) this.selection.delete(id);
  }

  drawNode(id, element) {
    this.shapes.get(id)?.remove();
    this.shapes.delete(id);
    if (!element) return;
    const node = { type: "step", x: 0, y: 0, ...element, ...this.drag?.at?.get(id) }; // an optimistic create may omit defaults
    const classes = ["node", `type-${node.type}`];
    if (this.selection.has(id)) classes.push("selected");
    if (this.remoteSelected.has(id)) classes.push("remote-selected");
    const g = s("g", { class: classes.join(" "), "data-id": id, transform: `translate(${node.x},${node.y})` });
    if (DIAMONDS.has(node.type)) {
      const w = NODE_W, hh = NODE_H;
      g.append(s("polygon", { class: "shape", points: `${w / 2},-10 ${w + 10},${hh / 2} ${w / 2},${hh + 10} -10,${hh / 2}` }));
    } else {
      const round = node.type === "start" || node.type === "end" ? NODE_H / 2 : 8;
      g.append(s("rect", { class: "shape", width: NODE_W, height: NODE_H, rx: round }));
    }
    if (this.remoteSelected.has(id)) {
      g.append(s("rect", { class: "remote-outline", x: -6, y: -6, width: NODE_W + 12,
        height: NODE_H + 12, rx: 10, stroke: this.remoteSelected.get(id) }));
    }
    if (node.channel) g.append(s("text", { class: "icon", x: 8, y: 18, text: ICONS[node.channel] || "•" }));
    if (node.type === "moment_of_truth") g.append(s("text", { class: "mot-mark", x: NODE_W - 18, y: 18, text: "★" }));
    g.append(s("text", { class: "label", x: NODE_W / 2, y: NODE_H / 2 + 5, text: clip(node.label || node.id, 22) }));
    g.append(s("text", { class: "kind", x: NODE_W / 2, y: NODE_H - 6, text: node.type.replace(/_/g, " ") }));
    if (this.canEdit()) g.append(s("circle", { class: "port", cx: NODE_W, cy: NODE_H / 2, r: 6 }));
    (this.isLifted(id) ? this.lifted : this.layers.nodes).append(g);
    this.shapes.set(id, g);
  }

  drawEdge(id, edge) {
    const old = this.shapes.get(id);
    if (old) {
      old.remove();
      this.shapes.delete(id);
      for (const set of [this.edgesOf.get(old.dataset.source), this.edgesOf.get(old.dataset.target)]) set?.delete(id);
    }
    if (!edge) return;
    const a = this.position(edge.source), b = this.position(edge.target);
    if (!a || !b) return;
    for (const end of [edge.source, edge.target]) {
      if (!this.edgesOf.has(end)) this.edgesOf.set(end, new Set());
      this.edgesOf.get(end).add(id);
    }
    const classes = ["edge", this.selection.has(id) ? "selected" : ""].join(" ");
    const g = s("g", { class: classes, "data-id": id, "data-source": edge.source, "data-target": edge.target });
    const width = this.traffic ? 1.5 + 10 * Math.sqrt((this.traffic.get(id) || 0) / this.traffic.max) : null;
    g.append(s("path", { class: "hit", d: "" }), s("path", { class: "line", d: "", "marker-end": "url(#arrow)",
      "stroke-width": width === null ? undefined : width.toFixed(1) }));
    if (edge.label) g.append(s("text", { class: "edge-label", text: edge.label }));
    this.layoutEdge(g, a, b);
    if (this.isLifted(edge.source) || this.isLifted(edge.target)) this.lifted.prepend(g);
    else this.layers.edges.append(g);
    this.shapes.set(id, g);
  }

  layoutEdge(g, a, b) {
    const d = `M${a.x},${a.y} L${b.x},${b.y}`;
    for (const path of g.querySelectorAll("path")) path.setAttribute("d", d);
    const label = g.querySelector("text");
    if (label) {
      label.setAttribute("x", (a.x + b.x) / 2);
      label.setAttribute("y", (a.y + b.y) / 2 - 6);
    }
  }

  /** A node's centre as drawn now (its drag position while it is being dragged). */
  position(id) {
    if (this.drag?.ids.has(id)) return nodeCenter(this.drag.at.get(id));
    const node = this.replica.get(id);
    return node?.kind === "node" ? nodeCenter(node) : null;
  }

  setSelection(ids) {
    const changed = new Set([...this.selection, ...ids]);
    this.selection = new Set(ids);
    this.render(changed);
    this.intents.select([...this.selection]);
  }

  setRemoteSelections(map) {
    const changed = new Set([...this.remoteSelected.keys(), ...map.keys()]);
    this.remoteSelected = map;
    this.render([...changed].filter((id) => this.replica.get(id)));
  }

  setTraffic(traffic) {
    this.traffic = traffic;
    this.render(this.replica.elements("edge").map((e) => e.id));
  }

  // --- pan, zoom and fit ---------------------------------------------------------------
  applyTransform() {
    const { x, y, k } = this.view;
    for (const world of [this.world, this.lifted]) world.setAttribute("transform", `translate(${x},${y}) scale(${k})`);
  }

  /** The canvas's rectangle on screen; read once, not on every pointer move (a layout read). */
  bounds() {
    this.box ??= this.svg.getBoundingClientRect();
    return this.box;
  }

  toWorld(event) {
    const box = this.bounds();
    return { x: (event.clientX - box.left - this.view.x) / this.view.k,
      y: (event.clientY - box.top - this.view.y) / this.view.k };
  }

  zoom(factor, cx, cy) {
    const k = Math.min(4, Math.max(0.05, this.view.k * factor));
    this.view.x = cx - ((cx - this.view.x) * k) / this.view.k;
    this.view.y = cy - ((cy - this.view.y) * k) / this.view.k;
    this.view.k = k;
    this.applyTransform();
  }

  fit() {
    const box = this.world.getBBox();
    const { width, height } = this.svg.getBoundingClientRect();
    if (!box.width || !box.height) return;
    const k = Math.min(2, 0.95 * Math.min(width / box.width, height / box.height));
    this.view = { k, x: (width - box.width * k) / 2 - box.x * k, y: (height - box.height * k) / 2 - box.y * k };
    this.applyTransform();
  }

  /** The centre of what is on screen, in board coordinates (where new nodes go). */
  center() {
    const { width, height } = this.svg.getBoundingClientRect();
    return { x: (width / 2 - this.view.x) / this.view.k - NODE_W / 2,
      y: (height / 2 - this.view.y) / this.view.k - NODE_H / 2 };
  }

  // --- gestures ------------------------------------------------------------------------
  bindGestures() {
    this.svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = this.bounds();
      this.zoom(Math.exp(-event.deltaY / 500), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    this.svg.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.svg.addEventListener("pointermove", (event) => this.pointerMove(event));
    new ResizeObserver(() => { this.box = null; }).observe(this.svg);
    window.addEventListener("resize", () => { this.box = null; });
    this.svg.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.svg.addEventListener("dblclick", (event) => {
      const id = event.target.closest("[data-id]")?.dataset.id;
      if (id) this.editLabel(id);
    });
  }

  pointerDown(event) {
    const target = event.target.closest("[data-id]");
    const id = target?.dataset.id;
    this.svg.setPointerCapture(event.pointerId);
    this.pointer = null; // a move seen before the press is not part of this gesture
    const at = this.toWorld(event);
    if (id && event.target.classList.contains("port") && this.canEdit()) {
      this.drag = { mode: "connect", from: id, ids: new Set(), line: this.layers.edges.appendChild(
        s("path", { class: "edge-draft", d: "" })) };
      return;
    }
    if (!id) {
      if (!event.shiftKey) this.setSelection([]);
      this.drag = { mode: "pan", start: { x: event.clientX, y: event.clientY }, view: { ...this.view } };
      return;
    }
    const selection = event.shiftKey ? [...this.selection, id] : this.selection.has(id) ? [...this.selection] : [id];
    this.setSelection(selection);
    const nodes = selection.filter((n) => this.replica.get(n)?.kind === "node");
    if (!this.canEdit() || !nodes.length) return;
    this.drag = { mode: "move", origin: at, moved: false, ids: new Set(nodes),
      start: new Map(nodes.map((n) => [n, { x: this.replica.get(n).x, y: this.replica.get(n).y }])),
      at: new Map() };
    for (const n of nodes) this.drag.at.set(n, this.drag.start.get(n));
  }

  /** Pointer moves only record where the pointer is; the next animation frame acts on it. */
  pointerMove(event) {
    this.pointer = { clientX: event.clientX, clientY: event.clientY };
    if (this.frameQueued) return;
    this.frameQueued = true;
    requestAnimationFrame(() => {
      this.frameQueued = false;
      this.frame();
    });
  }

  /** Once per frame at most: follow the latest pointer position, with no layout read. */
  frame() {
    const event = this.pointer;
    this.pointer = null;
    if (!event) return;
    const drag = this.drag;
    if (drag?.mode !== "move") this.intents.cursor?.(this.toWorld(event)); // a drag shows its nodes instead
    if (!drag) return;
    if (drag.mode === "pan") {
      this.view.x = drag.view.x + event.clientX - drag.start.x;
      this.view.y = drag.view.y + event.clientY - drag.start.y;
      this.applyTransform();
    } else if (drag.mode === "move") {
      const p = this.toWorld(event);
      this.dragTo(p.x - drag.origin.x, p.y - drag.origin.y);
    } else if (drag.mode === "connect") {
      const a = this.position(drag.from), p = this.toWorld(event);
      drag.line.setAttribute("d", `M${a.x},${a.y} L${p.x},${p.y}`);
    }
  }

  /** Move the dragged nodes by (dx, dy) on screen only; the intent is sent on release. */
  dragTo(dx, dy) {
    const drag = this.drag;
    if (!drag.moved) {
      if (Math.abs(dx) + Math.abs(dy) < 2) return; // a click, not yet a drag
      this.lift(drag);
    }
    drag.moved = true;
    const edges = new Set();
    for (const id of drag.ids) {
      const start = drag.start.get(id);
      const p = { x: Math.round(start.x + dx), y: Math.round(start.y + dy) };
      drag.at.set(id, p);
      this.shapes.get(id)?.setAttribute("transform", `translate(${p.x},${p.y})`);
      for (const e of this.edgesOf.get(id) || []) edges.add(e);
    }
    for (const e of edges) {
      const g = this.shapes.get(e);
      const a = this.position(g.dataset.source), b = this.position(g.dataset.target);
      if (a && b) this.layoutEdge(g, a, b);
    }
  }

  /** Take the dragged nodes and their edges off the board into the overlay, for the drag. */
  lift(drag) {
    for (const id of drag.ids) {
      const node = this.shapes.get(id);
      if (node) this.lifted.append(node);
      for (const e of this.edgesOf.get(id) || []) {
        const edge = this.shapes.get(e);
        if (edge) this.lifted.prepend(edge);
      }
    }
  }

  /** Put lifted shapes back on the board (the move intent redraws them where they land). */
  drop() {
    for (const g of [...this.lifted.children]) {
      (g.classList.contains("edge") ? this.layers.edges : this.layers.nodes).append(g);
    }
  }

  isLifted(id) {
    return Boolean(this.drag?.moved && this.drag.ids.has(id));
  }

  pointerUp(event) {
    if (this.pointer) this.frame(); // the last position counts, even within this frame
    const drag = this.drag;
    if (drag?.moved) this.drop();
    this.drag = null;
    if (!drag) return;
    if (drag.mode === "move" && drag.moved) {
      this.intents.submit([...drag.ids].map((id) => this.moveOp(id, drag.at.get(id))));
    } else if (drag.mode === "connect") {
      drag.line.remove();
      const under = document.elementFromPoint(event.clientX, event.clientY)?.closest(".node");
      const to = under?.dataset.id;
      if (to && to !== drag.from) this.connect(drag.from, to);
    }
  }

  moveOp(id, p) {
    const { stage, lane } = cellAt(p.x + NODE_W / 2, p.y + NODE_H / 2,
      this.replica.ordered("stage"), this.replica.ordered("lane"));
    return { op: "move", id, x: p.x, y: p.y, stage, lane };
  }

  connect(source, target) {
    const fromDecision = this.replica.get(source)?.type === "decision";
    const label = fromDecision ? prompt("Label for this branch (e.g. yes / no)", "yes") : "";
    if (fromDecision && !label) return;
    this.intents.submit([{ op: "create", element: { kind: "edge", id: this.intents.newId("e"),
      source, target, label: label || "" } }]);
  }

  /** Nudge the selected nodes by (dx, dy) board units: one move intent per node. */
  nudge(dx, dy) {
    const ops = [...this.selection].map((id) => this.replica.get(id))
      .filter((e) => e?.kind === "node").map((n) => this.moveOp(n.id, { x: n.x + dx, y: n.y + dy }));
    if (ops.length) this.intents.submit(ops);
  }

  /** An input over the element; Enter commits the new label, Escape cancels. */
  editLabel(id) {
    const element = this.replica.get(id);
    const shape = this.shapes.get(id);
    if (!element || !shape || !this.canEdit()) return;
    const box = shape.getBoundingClientRect();
    const input = h("input", { class: "label-editor", "aria-label": "label", maxlength: 200 });
    input.value = element.label || "";
    for (const [key, value] of Object.entries({ left: box.left, top: box.top + box.height / 2 - 16,
      width: Math.max(box.width, 160) })) input.style.setProperty(key, `${value}px`);
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      input.remove();
      if (save && input.value !== (element.label || "")) {
        this.intents.submit([{ op: "update", id, set: { label: input.value } }]);
      }
    };
    input.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    document.body.append(input);
    input.focus();
    input.select();
  }
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
