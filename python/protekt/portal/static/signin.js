// The sign-in page: the admin API key opens a browser session.

import * as api from "./api.js";
import { h, uid } from "./dom.js";
import { notice } from "./widgets.js";

export function renderSignIn(main, { onSignedIn }) {
  const keyId = uid("api-key");
  const hintId = uid("hint");
  const key = h("input", {
    id: keyId,
    name: "api_key",
    type: "password",
    autocomplete: "current-password",
    spellcheck: "false",
    required: true,
    "aria-describedby": hintId,
  });
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const submit = h(
    "button",
    { type: "submit", class: "button button-primary" },
    "Sign in",
  );
  const form = h(
    "form",
    { class: "card signin", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in to the Management portal"),
    h(
      "div",
      { class: "field" },
      h("label", { for: keyId }, "Admin API key"),
      h(
        "p",
        { class: "hint", id: hintId },
        "The key printed once when the portal first started.",
      ),
      key,
    ),
    outcome,
    h("div", { class: "actions" }, submit),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    outcome.replaceChildren();
    key.removeAttribute("aria-invalid");
    if (!key.value.trim()) {
      key.setAttribute("aria-invalid", "true");
      outcome.append(notice("error", "Enter the admin API key."));
      key.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.signIn(key.value.trim());
      key.value = "";
      onSignedIn();
    } catch (error) {
      key.setAttribute("aria-invalid", "true");
      const message =
        error.status === 401
          ? "That key is not valid. Check it and try again."
          : error.message;
      outcome.append(notice("error", message));
      key.select();
    } finally {
      submit.disabled = false;
    }
  });

  main.replaceChildren(h("div", { class: "signin-page" }, form));
  key.focus();
}
