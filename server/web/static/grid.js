// Stages as columns and lanes as rows behind the flowchart, with the emotion curve drawn
// in the lane whose role is "emotions". Reordering (drag a header, or its ◀▶▲▼ buttons for
// the keyboard) sends `reorder` intents.
import { s } from "./dom.js";
import { COL_W, HEAD, ROW_H, SIDE } from "./geometry.js";

export class Grid {
  /** overlay: where the drop marker is drawn while a header is dragged; toWorld(event): board coordinates. */
  constructor(layer, emotionLayer, replica, intents, canEdit, overlay, toWorld) {
    Object.assign(this, { layer, emotionLayer, replica, intents, canEdit, overlay, toWorld });
    this.emotion = new Map(); // stage id -> Score
  }

  render() {
    const stages = this.replica.ordered("stage");
    const lanes = this.replica.ordered("lane");
    const width = Math.max(1, stages.length) * COL_W;
    const height = HEAD + Math.max(1, lanes.length) * ROW_H;
    const parts = [];
    stages.forEach((stage, i) => {
      parts.push(s("rect", { class: `stage-col ${i % 2 ? "odd" : ""}`, x: i * COL_W, y: 0, width: COL_W, height }));
      if (this.canEdit()) {
        parts.push(s("rect", { class: "stage-head", "data-stage": stage.id, x: i * COL_W, y: 0, width: COL_W - 64, height: HEAD,
          onpointerdown: (event) => this.startReorder(event, stages, i, true) }));
      }
      parts.push(s("text", { class: "stage-label", "data-stage": stage.id, x: i * COL_W + 12, y: 30, text: stage.label || stage.id }));
      if (this.canEdit()) {
        parts.push(this.button("◀", i * COL_W + COL_W - 56, 28, "Move stage left", () => this.move(stages, i, -1)),
          this.button("▶", i * COL_W + COL_W - 28, 28, "Move stage right", () => this.move(stages, i, 1)));
      }
    });
    lanes.forEach((lane, j) => {
      const y = HEAD + j * ROW_H;
      parts.push(s("rect", { class: `lane-row role-${lane.role}`, x: -SIDE, y, width: width + SIDE, height: ROW_H }));
      if (this.canEdit()) {
        parts.push(s("rect", { class: "lane-head", "data-lane": lane.id, x: -SIDE, y, width: SIDE, height: ROW_H,
          onpointerdown: (event) => this.startReorder(event, lanes, j, false) }));
      }
      parts.push(s("text", { class: "lane-label", "data-lane": lane.id, x: -SIDE + 10, y: y + 24, text: lane.label || lane.id }));
      if (this.canEdit()) {
        parts.push(this.button("▲", -SIDE + 16, y + 50, "Move lane up", () => this.move(lanes, j, -1)),
          this.button("▼", -SIDE + 44, y + 50, "Move lane down", () => this.move(lanes, j, 1)));
      }
    });
    this.layer.replaceChildren(...parts);
    this.renderEmotion(stages, lanes);
  }

  button(glyph, x, y, title, action) {
    return s("text", { class: "grid-button edit-only", x, y, role: "button", "aria-label": title,
      onpointerdown: (event) => event.stopPropagation(), onclick: action, text: glyph });
  }

  /** Reorder intent: put item i one place earlier (-1) or later (+1). */
  move(items, i, step) {
    const j = i + step;
    if (j < 0 || j >= items.length) return;
    this.moveTo(items, i, step < 0 ? j : j + 1);
  }

  /** Reorder intent: put item i in the gap before item `gap` (items.length: last). */
  moveTo(items, i, gap) {
    if (gap === i || gap === i + 1) return; // where it already is
    this.intents.submit([{ op: "reorder", id: items[i].id, after: gap === 0 ? null : items[gap - 1].id }]);
  }

  /** Drag a stage (columns) or lane (rows) header; a line shows the gap it will drop into. */
  startReorder(event, items, i, columns) {
    event.stopPropagation(); // not a pan of the board
    const head = event.currentTarget;
    head.setPointerCapture(event.pointerId);
    const size = columns ? COL_W : ROW_H, start = columns ? 0 : HEAD;
    const span = columns ? HEAD + Math.max(1, this.replica.ordered("lane").length) * ROW_H
      : SIDE + Math.max(1, this.replica.ordered("stage").length) * COL_W;
    const ghost = s("rect", { class: "reorder-ghost", x: columns ? i * COL_W : -SIDE, y: columns ? 0 : HEAD + i * ROW_H,
      width: columns ? COL_W : span, height: columns ? span : ROW_H });
    const mark = s("line", { class: "reorder-mark" });
    this.overlay.append(ghost, mark);
    let gap = i;
    const follow = (e) => {
      const p = this.toWorld(e);
      gap = Math.max(0, Math.min(items.length, Math.round(((columns ? p.x : p.y) - start) / size)));
      const at = start + gap * size;
      const ends = columns ? { x1: at, x2: at, y1: 0, y2: span } : { x1: -SIDE, x2: span - SIDE, y1: at, y2: at };
      for (const [key, value] of Object.entries(ends)) mark.setAttribute(key, value);
    };
    const end = (e) => {
      head.removeEventListener("pointermove", follow);
      head.removeEventListener("pointerup", end);
      head.removeEventListener("pointercancel", end);
      ghost.remove();
      mark.remove();
      if (e.type === "pointerup") this.moveTo(items, i, gap);
    };
    head.addEventListener("pointermove", follow);
    head.addEventListener("pointerup", end);
    head.addEventListener("pointercancel", end);
  }

  /** Merge scores by stage id (from the REST curve or a live `insight` message) and redraw. */
  setEmotion(scores) {
    for (const score of scores) this.emotion.set(score.id, score);
    this.renderEmotion(this.replica.ordered("stage"), this.replica.ordered("lane"));
  }

  renderEmotion(stages, lanes) {
    const row = lanes.findIndex((lane) => lane.role === "emotions");
    if (row < 0) return this.emotionLayer.replaceChildren();
    const top = HEAD + row * ROW_H + 30, span = ROW_H - 50;
    const points = [], marks = [];
    stages.forEach((stage, i) => {
      const score = this.emotion.get(stage.id);
      if (score?.mean === null || score?.mean === undefined) return;
      const x = i * COL_W + COL_W / 2, y = top + span * (1 - score.mean / 100);
      points.push(`${x},${y}`);
      const mood = score.mean >= 60 ? "good" : score.mean >= 40 ? "mixed" : "bad";
      marks.push(s("circle", { class: `emotion-point ${mood}`, cx: x, cy: y, r: 7, "data-stage": stage.id,
        "data-mean": score.mean.toFixed(1) }),
      s("text", { class: "emotion-value", x: x + 10, y: y - 8, text: `${Math.round(score.mean)} (${score.feedback})` }));
    });
    const line = points.length > 1 ? [s("polyline", { class: "emotion-curve", points: points.join(" ") })] : [];
    this.emotionLayer.replaceChildren(...line, ...marks);
  }
}
