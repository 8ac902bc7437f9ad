// Who is here: the roster, everyone's cursor with name and colour, and what they selected.
import { h, s } from "./dom.js";

export class Presence {
  constructor(cursorLayer, roster, me, onSelections) {
    Object.assign(this, { cursorLayer, roster, me, onSelections });
    this.others = new Map(); // client_id -> presence message
    this.cursors = new Map();
  }

  update(message) {
    this.others.set(message.client_id, message);
    this.drawCursor(message);
    this.drawRoster();
    this.selectionsChanged();
  }

  left(message) {
    this.others.delete(message.client_id);
    this.cursors.get(message.client_id)?.remove();
    this.cursors.delete(message.client_id);
    this.drawRoster();
    this.selectionsChanged();
  }

  reset() {
    this.others.clear();
    this.cursorLayer.replaceChildren();
    this.cursors.clear();
    this.drawRoster();
    this.selectionsChanged();
  }

  drawCursor(p) {
    let cursor = this.cursors.get(p.client_id);
    if (!p.cursor) return cursor?.remove();
    if (!cursor) {
      cursor = s("g", { class: "cursor", "data-user": p.user },
        s("path", { d: "M0,0 L0,16 L4,12 L8,20 L11,19 L7,11 L13,11 z", fill: p.color }),
        s("text", { x: 14, y: 24, fill: p.color, text: p.user }));
      this.cursors.set(p.client_id, cursor);
      this.cursorLayer.append(cursor);
    }
    cursor.setAttribute("transform", `translate(${p.cursor.x},${p.cursor.y})`);
  }

  drawRoster() {
    const people = new Map([[this.me, { user: this.me, color: "#444", me: true }]]);
    for (const p of this.others.values()) if (!people.has(p.user)) people.set(p.user, p);
    this.roster.replaceChildren(...[...people.values()].map((p) =>
      h("li", { class: "roster-entry", "data-user": p.user, title: p.user },
        s("svg", { width: 12, height: 12, class: "dot" }, s("circle", { cx: 6, cy: 6, r: 6, fill: p.color })),
        h("span", { text: p.me ? `${p.user} (you)` : p.user }))));
  }

  selectionsChanged() {
    const map = new Map();
    for (const p of this.others.values()) for (const id of p.selection || []) map.set(id, p.color);
    this.onSelections(map);
  }
}
