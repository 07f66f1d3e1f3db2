// Create new endpoint: the guide's flow from Webhook URL to Save and test.
//
// The API verifies endpoints it already holds, so Verify endpoint first creates a
// draft (status "created", which receives no events) with what the form holds, then
// verifies it. Save webhook stores the rest of the form and activates the draft; the
// server refuses it (409) before a passed verification, and so does this page.

import * as api from "./api.js";
import { busy, h, uid } from "./dom.js";
import { SettingsForm } from "./form.js";
import { deliveryResult, notice, secretPanel, verificationView } from "./widgets.js";

export async function renderCreate(main, { navigate }) {
  main.replaceChildren(h("p", { class: "hint" }, "Loading…"));
  const catalogue = await api.getCatalogue();
  const form = new SettingsForm(catalogue, null, { withAuth: true });

  const state = {
    draft: null, // the endpoint Verify endpoint created
    draftTarget: null, // URL and authentication the draft was made with
    verifiedTarget: null, // the same, when its verification passed
    saved: false,
  };

  // ---- Verify endpoint, in the Webhook URL section ---------------------------------

  const verifyHintId = uid("hint");
  const verifyButton = h(
    "button",
    { type: "button", class: "button", "aria-describedby": verifyHintId },
    "Verify endpoint",
  );
  const verifyResult = h("div", { class: "outcome", "aria-live": "polite" });
  const secretSlot = h("div", {});
  form.sections.webhook.append(
    h(
      "div",
      { class: "field" },
      h(
        "p",
        { class: "hint", id: verifyHintId },
        "Sends a signed challenge to the URL; your endpoint must answer 200.",
      ),
      verifyButton,
      verifyResult,
      secretSlot,
    ),
  );

  // ---- Save and test ----------------------------------------------------------------

  const saveHintId = uid("hint");
  const saveButton = h(
    "button",
    { type: "button", class: "button button-primary", "aria-describedby": saveHintId },
    "Save webhook",
  );
  const saveHint = h("p", { class: "hint", id: saveHintId });
  const saveResult = h("div", { class: "outcome", "aria-live": "polite" });
  const testButton = h(
    "button",
    { type: "button", class: "button" },
    "Send test event",
  );
  const testResult = h("div", { class: "outcome", "aria-live": "polite" });
  const cancelButton = h(
    "button",
    { type: "button", class: "button button-quiet" },
    "Cancel",
  );
  const formError = h("div", { class: "outcome", "aria-live": "polite" });

  const saveSection = h(
    "section",
    { class: "card" },
    h("h2", {}, "Save and test"),
    saveHint,
    h("div", { class: "actions" }, saveButton, testButton, cancelButton),
    formError,
    saveResult,
    testResult,
  );

  function verified() {
    return state.verifiedTarget !== null && state.verifiedTarget === form.target();
  }

  function update() {
    saveButton.disabled = !verified();
    testButton.disabled = !state.saved;
    if (state.verifiedTarget !== null && !verified()) {
      saveHint.textContent =
        "The URL or authentication changed since it was verified: " +
        "verify the endpoint again.";
    } else if (state.saved) {
      saveHint.textContent = "Changes made from now on are stored with Save webhook.";
    } else if (!verified()) {
      saveHint.textContent =
        "Save webhook is available once Verify endpoint has passed " +
        "(the endpoint answered 200).";
    } else {
      saveHint.textContent = "Verified. Save webhook activates the endpoint.";
    }
  }

  function showError(error, where) {
    if (!form.showError(error)) where.replaceChildren(notice("error", error.message));
  }

  form.onTargetChange(update);

  async function ensureDraft() {
    const target = form.target();
    if (state.draft && state.draftTarget === target) return;
    const auth = form.auth();
    const sameAuth =
      state.draft &&
      JSON.stringify(JSON.parse(state.draftTarget).auth) === JSON.stringify(auth);

    if (state.draft && sameAuth) {
      // Only the URL changed: the endpoint goes back to "created".
      state.draft = await api.patch(api.endpointPath(state.draft.id), {
        url: form.url.value.trim(),
      });
    } else if (state.draft && state.saved) {
      // A saved webhook keeps its id; the answer holds the new secret or token.
      state.draft = await api.patch(api.endpointPath(state.draft.id), {
        url: form.url.value.trim(),
        auth,
      });
      const panel = secretPanel(state.draft);
      secretSlot.replaceChildren(...(panel ? [panel] : []));
    } else {
      // A new authentication method needs a new secret, shown once: a new draft.
      if (state.draft) await api.remove(api.endpointPath(state.draft.id));
      state.draft = null;
      secretSlot.replaceChildren();
      const options = form.options();
      const created = await api.post("/endpoints", {
        url: form.url.value.trim(),
        auth,
        ...options,
        // Events are chosen after verifying; the draft receives none meanwhile.
        events: options.events.length ? options.events : catalogue.events,
      });
      state.draft = created;
      const panel = secretPanel(created);
      if (panel) secretSlot.replaceChildren(panel);
    }
    state.draftTarget = target;
  }

  verifyButton.addEventListener("click", () =>
    busy(
      verifyButton,
      async () => {
        form.clearErrors();
        formError.replaceChildren();
        verifyResult.replaceChildren(h("p", { class: "hint" }, "Verifying…"));
        state.verifiedTarget = null;
        update();
        try {
          await ensureDraft();
          const answer = await api.post(`${api.endpointPath(state.draft.id)}/verify`);
          state.draft = answer;
          verifyResult.replaceChildren(verificationView(answer.verification));
          if (answer.verification?.passed) {
            state.verifiedTarget = state.draftTarget;
          }
        } catch (error) {
          verifyResult.replaceChildren();
          showError(error, verifyResult);
        }
        update();
      },
      "Verifying…",
    ).then(update),
  );

  saveButton.addEventListener("click", () =>
    busy(
      saveButton,
      async () => {
        form.clearErrors();
        formError.replaceChildren();
        saveResult.replaceChildren();
        if (!state.draft) {
          formError.replaceChildren(notice("error", "Verify the endpoint first."));
          return;
        }
        const options = form.options();
        if (options.events.length === 0) {
          form.showError({ field: "events", message: "Choose at least one event." });
          return;
        }
        try {
          const path = api.endpointPath(state.draft.id);
          state.draft = await api.patch(path, options);
          if (state.draft.status !== "active")
            state.draft = await api.post(`${path}/save`);
          state.saved = true;
          saveResult.replaceChildren(
            h(
              "p",
              { class: "notice notice-ok" },
              "Saved: the webhook is active and receives the events you selected. ",
              h(
                "a",
                { href: `#/endpoints/${encodeURIComponent(state.draft.id)}` },
                "Open the endpoint page",
              ),
              ".",
            ),
          );
        } catch (error) {
          showError(error, formError);
        }
      },
      "Saving…",
    ).then(update),
  );

  testButton.addEventListener("click", () =>
    busy(
      testButton,
      async () => {
        const sending = h("p", { class: "hint" }, "Sending a test event…");
        testResult.replaceChildren(sending);
        try {
          const delivery = await api.post(`${api.endpointPath(state.draft.id)}/test`);
          testResult.replaceChildren(
            h("h3", {}, "Test event"),
            deliveryResult(delivery),
          );
        } catch (error) {
          testResult.replaceChildren(notice("error", error.message));
        }
      },
      "Sending…",
    ).then(update),
  );

  cancelButton.addEventListener("click", async () => {
    if (state.draft && !state.saved) {
      try {
        await api.remove(api.endpointPath(state.draft.id));
      } catch (error) {
        if (error.status !== 404) {
          formError.replaceChildren(notice("error", error.message));
          return;
        }
      }
    }
    navigate(
      state.saved ? `#/endpoints/${encodeURIComponent(state.draft.id)}` : "#/endpoints",
    );
  });

  main.replaceChildren(
    h(
      "nav",
      { class: "breadcrumbs", "aria-label": "Breadcrumbs" },
      h("a", { href: "#/endpoints" }, "Webhooks"),
      h("span", { "aria-hidden": "true" }, " / "),
      h("span", { "aria-current": "page" }, "Create new endpoint"),
    ),
    h("h1", { tabindex: "-1" }, "Create new endpoint"),
    h(
      "form",
      {
        class: "endpoint-form",
        novalidate: true,
        onsubmit: (event) => event.preventDefault(),
      },
      form.sections.webhook,
      form.sections.events,
      form.sections.payload,
      form.sections.retry,
      saveSection,
    ),
  );
  update();
}
