// Comments on one element: threads (replies name their parent), resolve and reopen, mentions.
// Renders from the replica and sends intents; drafts survive the redraws live edits cause.
import { h } from "./dom.js";

const MENTION = /(?:^|\s)@([A-Za-z0-9_.-]{1,64})/g;

/** The distinct @names in a comment's text, in order (the server keeps at most 50). */
export function mentionsIn(text) {
  return [...new Set([...text.matchAll(MENTION)].map((m) => m[1]))].slice(0, 50);
}

export class Comments {
  /** me: my user name; role(): my role on the board now. */
  constructor(replica, intents, me, role) {
    Object.assign(this, { replica, intents, me, role });
    this.drafts = new Map(); // "target:<id>" or "reply:<comment id>" -> text being typed
    this.replying = null; // the comment id whose reply box is open
  }

  /** The thread section for `element`. */
  render(element) {
    const all = this.replica.elements("comment");
    const byTime = (a, b) => (a.created_at || Infinity) - (b.created_at || Infinity) || (a.id < b.id ? -1 : 1);
    const roots = all.filter((c) => c.target === element.id && !c.parent).sort(byTime);
    const replies = new Map();
    for (const c of all) {
      if (!c.parent) continue;
      if (!replies.has(c.parent)) replies.set(c.parent, []);
      replies.get(c.parent).push(c);
    }
    const open = roots.filter((c) => !c.resolved).length;
    return h("section", { class: "comments" },
      h("h4", { text: `Comments${roots.length ? ` (${open} open of ${roots.length})` : ""}` }),
      h("ul", { class: "threads" }, ...roots.map((c) => this.thread(c, replies))),
      this.canComment() ? this.form(`target:${element.id}`, "Comment…", "Comment", (text) => ({ target: element.id, text })) : null);
  }

  thread(root, replies) {
    const answers = (replies.get(root.id) || []).sort((a, b) => (a.created_at || Infinity) - (b.created_at || Infinity));
    const actions = [];
    if (this.canComment()) {
      actions.push(h("button", { class: "small reply", text: "Reply", onclick: () => {
        this.replying = this.replying === root.id ? null : root.id;
        this.intents.refreshDetails();
      } }));
    }
    if (this.canChange(root)) {
      actions.push(h("button", { class: "small resolve", text: root.resolved ? "Reopen" : "Resolve",
        onclick: () => this.intents.submit([{ op: "update", id: root.id, set: { resolved: !root.resolved } }]) }));
    }
    return h("li", { class: `thread${root.resolved ? " resolved" : ""}`, "data-id": root.id },
      this.comment(root), h("div", { class: "comment-actions" }, ...actions),
      answers.length ? h("ul", { class: "replies" }, ...answers.map((c) => h("li", { "data-id": c.id }, this.comment(c)))) : null,
      this.replying === root.id && this.canComment()
        ? this.form(`reply:${root.id}`, "Reply…", "Send reply", (text) => ({ target: root.target, parent: root.id, text }))
        : null);
  }

  comment(c) {
    return h("div", { class: "comment" },
      h("strong", { class: "author", text: c.author || this.me }),
      c.resolved ? h("span", { class: "badge", text: "resolved" }) : null,
      h("div", { class: "text", text: c.text }),
      c.mentions?.length ? h("div", { class: "mentions" }, ...c.mentions.map((m) =>
        h("span", { class: `mention${m === this.me ? " me" : ""}`, text: `@${m}` }))) : null);
  }

  form(key, placeholder, label, fields) {
    const box = h("textarea", { "aria-label": label === "Comment" ? "comment" : "reply", rows: 2, placeholder, maxlength: 10000,
      oninput: () => this.drafts.set(key, box.value) });
    box.value = this.drafts.get(key) || "";
    const send = () => {
      const text = box.value.trim();
      if (!text) return;
      const mentions = mentionsIn(text);
      this.intents.submit([{ op: "create", element: { kind: "comment", id: this.intents.newId("c"),
        ...fields(text), ...(mentions.length ? { mentions } : {}) } }]);
      this.drafts.delete(key);
      box.value = "";
      if (key.startsWith("reply:")) this.replying = null;
    };
    return h("div", { class: "comment-form" }, box, h("button", { text: label, onclick: send }));
  }

  canComment() {
    return this.role() !== "viewer";
  }

  /** Editors change any comment; a commenter only their own. */
  canChange(c) {
    const role = this.role();
    return role === "editor" || role === "owner" || (role === "commenter" && c.author === this.me);
  }
}
