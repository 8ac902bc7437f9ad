// The sign-in page: POST /api/login sets the HttpOnly session cookie, then go to the boards.
import { api } from "./api.js";
import { h } from "./dom.js";

const name = h("input", { name: "name", placeholder: "user name", autocomplete: "username", required: true, "aria-label": "user name" });
const password = h("input", { name: "password", type: "password", placeholder: "password", autocomplete: "current-password", required: true, "aria-label": "password" });
const out = h("p", { id: "out", role: "status" });
const form = h("form", { id: "login", onsubmit: async (event) => {
  event.preventDefault();
  try {
    await api("POST", "/api/login", { name: name.value.trim(), password: password.value });
    location.assign(new URLSearchParams(location.search).get("next")?.startsWith("/boards/")
      ? new URLSearchParams(location.search).get("next") : "/");
  } catch (error) {
    out.textContent = error.message;
  }
} }, name, password, h("button", { text: "Sign in" }));
document.body.append(h("main", { class: "narrow" }, h("h1", { text: "Journeyboard" }), form, out));
name.focus();
