// Exports from the page: JSON, CSV and Mermaid of the board, SVG and PNG of the current view.
import { download } from "./dom.js";

const CSV_COLUMNS = ["kind", "id", "label", "type", "stage", "lane", "channel", "source", "target", "text"];
const FORMULA = /^[=+\-@\t\r\0]/;
const SHAPES = { decision: ["{", "}"], start: ["([", "])"], end: ["([", "])"], moment_of_truth: ["[/", "/]"] };

export function exportJson(replica) {
  const snapshot = { board: replica.boardView(), seq: replica.seq, elements: replica.elements() };
  download(`${slug(replica)}.json`, JSON.stringify(snapshot, null, 2), "application/json");
}

export function exportCsv(replica) {
  const cell = (v) => {
    if (v === undefined || v === null) return "";
    const text = typeof v === "string" && FORMULA.test(v) ? `'${v}` : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = [CSV_COLUMNS.join(","), ...replica.elements().map((e) => CSV_COLUMNS.map((c) => cell(e[c])).join(","))];
  download(`${slug(replica)}.csv`, `${rows.join("\r\n")}\r\n`, "text/csv");
}

export function mermaid(replica) {
  const ident = (id) => `n_${id.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
  const quote = (t) => `"${t.replace(/"/g, "#quot;")}"`;
  const lines = ["flowchart LR"];
  for (const n of replica.elements("node")) {
    const [open, close] = SHAPES[n.type] || ["[", "]"];
    lines.push(`    ${ident(n.id)}${open}${quote(n.label || n.id)}${close}`);
  }
  for (const e of replica.elements("edge")) {
    const arrow = e.label ? `-- ${quote(e.label)} -->` : "-->";
    lines.push(`    ${ident(e.source)} ${arrow} ${ident(e.target)}`);
  }
  return `${lines.join("\n")}\n`;
}

export function exportMermaid(replica) {
  download(`${slug(replica)}.mmd`, mermaid(replica));
}

/** The canvas as drawn now, with the page's stylesheet inlined so it stands alone. */
export async function svgText(svg) {
  const css = await (await fetch("/static/app.css")).text();
  const copy = svg.cloneNode(true);
  const { width, height } = svg.getBoundingClientRect();
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("width", width);
  copy.setAttribute("height", height);
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = css;
  copy.prepend(style);
  return new XMLSerializer().serializeToString(copy);
}

export async function exportSvg(replica, svg) {
  download(`${slug(replica)}.svg`, await svgText(svg), "image/svg+xml");
}

export async function exportPng(replica, svg) {
  const url = URL.createObjectURL(new Blob([await svgText(svg)], { type: "image/svg+xml" }));
  const image = new Image();
  await new Promise((resolve, reject) => { image.onload = resolve; image.onerror = reject; image.src = url; });
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0);
  URL.revokeObjectURL(url);
  canvas.toBlob((blob) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${slug(replica)}.png`;
    link.click();
  });
}

function slug(replica) {
  return (replica.boardView().title || "board").toLowerCase().replace(/[^a-z0-9]+/g, "-");
}
