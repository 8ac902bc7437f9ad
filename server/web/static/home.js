// The board list: the boards I can see with my role, new boards from templates, deletion.
import { api, signOut } from "./api.js";
import { h, meta, toast } from "./dom.js";

const me = meta("user");
const admin = meta("admin") === "true";
const TEMPLATES = [["customer-journey", "Customer journey"], ["support-flowchart", "Support flowchart"],
  ["repurchase-flowchart", "Re-purchase flowchart"], ["", "Empty board"]];
const list = h("tbody", { id: "boards" });

// The list carries my role on each board (an admin is owner of them all): one request a page.
const roleText = (board) => (admin ? `${board.role} (admin)` : board.role ?? "—");

async function load() {
  const boards = [];
  let cursor = null;
  do {
    const page = await api("GET", `/api/boards${cursor ? `?cursor=${cursor}` : ""}`);
    boards.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && boards.length < 500);
  list.replaceChildren(...boards.map((b) => h("tr", { class: "board-row", "data-id": b.id },
    h("td", {}, h("a", { href: `/boards/${b.id}`, text: b.title })),
    h("td", { class: "role", text: roleText(b) }),
    h("td", { text: new Date(b.updated_at).toLocaleString() }),
    h("td", {}, b.role === "owner" ? h("button", { class: "danger small", text: "Delete",
      onclick: () => remove(b) }) : null))));
  if (!boards.length) list.append(h("tr", {}, h("td", { colspan: 4, class: "muted", text: "No boards yet: create one above." })));
}

async function remove(board) {
  if (!confirm(`Delete “${board.title}” and its history?`)) return;
  try {
    await api("DELETE", `/api/boards/${board.id}`);
  } catch (error) {
    toast(error.message, "error");
  }
  await load();
}

const title = h("input", { "aria-label": "board title", placeholder: "New board title", required: true, maxlength: 200 });
const template = h("select", { "aria-label": "template" }, ...TEMPLATES.map(([v, t]) => h("option", { value: v, text: t })));
const create = h("form", { id: "create", onsubmit: async (event) => {
  event.preventDefault();
  try {
    const made = await api("POST", "/api/boards", { title: title.value, ...(template.value ? { template: template.value } : {}) });
    location.assign(`/boards/${made.id}`);
  } catch (error) {
    toast(error.message, "error");
  }
} }, title, template, h("button", { class: "primary", text: "Create board" }));

document.body.append(h("header", { class: "toolbar" }, h("h1", { text: "Journeyboard" }), h("span", { class: "spacer" }),
  h("span", { id: "me", text: `Signed in as ${me}` }), h("button", { id: "sign-out", text: "Sign out", onclick: signOut })),
h("main", { class: "home" }, create, h("table", { class: "boards" },
  h("thead", {}, h("tr", {}, ...["Title", "Your role", "Updated", ""].map((t) => h("th", { text: t })))), list)));
load().catch((error) => toast(error.message, "error"));
