// The side panel: details and comments of the selection, journey insight, the team.
import { api } from "./api.js";
import { Comments } from "./comments.js";
import { h, toast } from "./dom.js";

const NODE_TYPES = ["step", "touchpoint", "decision", "moment_of_truth", "pain_point", "opportunity", "start", "end", "note"];
const CHANNELS = ["", "web", "app", "email", "phone", "chat", "store", "social", "mail", "in_person", "other"];
const ROLES = ["viewer", "commenter", "editor", "owner"];

export class Details {
  constructor(root, replica, intents, role, me) {
    Object.assign(this, { root, replica, intents, role });
    this.selected = [];
    this.thread = new Comments(replica, intents, me, () => this.role);
  }

  select(ids) {
    this.selected = ids;
    this.render();
  }

  /** Redraw, unless `ids` (what the replica says changed) touch neither the selection nor a comment. */
  render(ids = null) {
    const relevant = (id) => id === this.selected[0] || ["comment", undefined].includes(this.replica.get(id)?.kind);
    if (ids && ![...ids].some(relevant)) return;
    const element = this.replica.get(this.selected[0]);
    if (!element) {
      this.root.replaceChildren(h("p", { class: "hint", text: "Select a node or edge to see its details and comments." }));
      return;
    }
    const edit = this.role === "editor" || this.role === "owner";
    const fields = [h("h3", { text: element.label || element.id }), h("p", { class: "muted", text: `${element.kind} · ${element.id}` })];
    if (element.kind === "node") {
      fields.push(this.choice("Type", element.type, NODE_TYPES, edit, (type) => ({ type })),
        this.choice("Channel", element.channel || "", CHANNELS, edit, (c) => ({ channel: c || null })));
    }
    if (edit) fields.push(h("button", { class: "danger edit-only", onclick: () => this.intents.remove(element.id), text: "Delete" }));
    this.root.replaceChildren(...fields, this.thread.render(element));
  }

  choice(label, value, options, enabled, changes) {
    const select = h("select", { "aria-label": label, disabled: !enabled, onchange: () =>
      this.intents.submit([{ op: "update", id: this.selected[0], set: changes(select.value) }]) },
    ...options.map((o) => h("option", { value: o, text: o.replace(/_/g, " ") || "—", selected: o === value })));
    return h("label", { class: "field" }, h("span", { text: label }), select);
  }
}

export class InsightPanel {
  constructor(root, boardId, onTraffic) {
    Object.assign(this, { root, boardId, onTraffic });
    this.showPaths = false;
  }

  async refresh() {
    const base = `/api/boards/${this.boardId}/insights`;
    try {
      const [pain, mot, paths] = await Promise.all([api("GET", `${base}/pain-points`),
        api("GET", `${base}/moments-of-truth`), api("GET", `${base}/paths`)]);
      this.paths = paths;
      this.render(pain, mot, paths);
      if (this.showPaths) this.onTraffic(paths);
    } catch (error) {
      this.root.replaceChildren(h("p", { class: "error", text: error.message }));
    }
  }

  render(pain, mot, paths) {
    const painItems = pain.items.slice(0, 8).map((p) => h("li", { class: "pain-point" },
      h("strong", { text: p.touchpoint.label || p.touchpoint.id }),
      h("span", { class: "muted", text: ` pain ${p.pain.toFixed(1)} · ${Math.round(100 * p.bad_share)}% bad` }),
      h("ul", { class: "quotes" }, ...p.quotes.slice(0, 2).map((q) => h("li", { class: "quote", text: `“${q.text}”` })))));
    const motItems = mot.suggested.slice(0, 6).map((m) => h("li", {},
      h("strong", { text: m.label || m.touchpoint }), h("span", { class: "muted", text: ` +${m.impact.toFixed(0)} pts repurchase${m.marked ? " · marked" : ""}` })));
    const toggle = h("label", { class: "field" }, h("input", { type: "checkbox", checked: this.showPaths, onchange: (e) => {
      this.showPaths = e.target.checked;
      this.onTraffic(this.showPaths ? this.paths : null);
    } }), h("span", { text: ` Draw top paths (${paths.customers} customers)` }));
    const top = paths.paths.slice(0, 5).map((p) => h("li", { text: `${p.nodes.join(" → ")} (${p.customers})` }));
    this.root.replaceChildren(h("h4", { text: "Pain points" }), h("ol", { class: "pain-points" }, ...painItems),
      h("h4", { text: "Suggested moments of truth" }), h("ol", {}, ...motItems),
      h("h4", { text: "Top paths" }), toggle, h("ol", {}, ...top));
  }
}

export class TeamPanel {
  constructor(root, boardId, role, admin) {
    Object.assign(this, { root, boardId, role, admin });
    this.list = h("ul", { class: "members" });
    this.invite = this.inviteForm();
    this.root.replaceChildren(h("h4", { text: "Members" }), this.list, this.invite, admin ? this.userForm() : null);
    this.asked = 0; // answers to older requests are dropped, whatever order they arrive in
  }

  /** Redraw the member list only: the forms keep what is being typed in them. */
  async refresh() {
    const ticket = ++this.asked;
    const { items } = await api("GET", `/api/boards/${this.boardId}/members`);
    if (ticket !== this.asked) return;
    const owner = this.role === "owner";
    this.invite.hidden = !owner;
    this.list.replaceChildren(...items.map((m) => h("li", { class: "member", "data-user": m.user }, h("span", { text: m.user }),
      owner ? h("select", { "aria-label": `role of ${m.user}`, onchange: (e) => this.setRole(m.user, e.target.value) },
        ...ROLES.map((r) => h("option", { value: r, text: r, selected: r === m.role }))) : h("span", { class: "muted", text: ` ${m.role}` }),
      owner ? h("button", { class: "small", text: "Remove", onclick: () => this.remove(m.user) }) : null)));
  }

  inviteForm() {
    const name = h("input", { "aria-label": "invite user", placeholder: "user name" });
    const role = h("select", { "aria-label": "invite role" }, ...ROLES.map((r) => h("option", { value: r, text: r, selected: r === "editor" })));
    return h("form", { class: "invite", hidden: true, onsubmit: (e) => {
      e.preventDefault();
      if (name.value.trim()) this.setRole(name.value.trim(), role.value).then(() => { name.value = ""; });
    } },
      h("h4", { text: "Invite" }), name, role, h("button", { text: "Invite" }));
  }

  userForm() {
    const name = h("input", { "aria-label": "new user name", placeholder: "user name" });
    const password = h("input", { "aria-label": "new user password", type: "password", placeholder: "password (8+)" });
    const out = h("p", { class: "muted" });
    return h("form", { class: "new-user", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const made = await api("POST", "/api/users", { name: name.value.trim(), password: password.value || null });
        out.textContent = `Created ${made.user.name}. API token (shown once): ${made.token}`;
      } catch (error) {
        out.textContent = error.message;
      }
    } }, h("h4", { text: "New account (admin)" }), name, password, h("button", { text: "Create user" }), out);
  }

  async setRole(user, role) {
    await this.call(() => api("PUT", `/api/boards/${this.boardId}/members/${encodeURIComponent(user)}`, { role }));
  }

  async remove(user) {
    await this.call(() => api("DELETE", `/api/boards/${this.boardId}/members/${encodeURIComponent(user)}`));
  }

  async call(action) {
    try {
      await action();
    } catch (error) {
      toast(error.message, "error");
    }
    await this.refresh();
  }
}
