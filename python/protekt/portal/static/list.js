// The Webhooks page: every endpoint with its status, and Create new endpoint.

import * as api from "./api.js";
import { badge, h, timeElement } from "./dom.js";
import { AUTH_NAMES, ENDPOINT_STATUS, eventName } from "./names.js";
import { notice } from "./widgets.js";

function row(endpoint) {
  const href = `#/endpoints/${encodeURIComponent(endpoint.id)}`;
  const events = endpoint.events.map(eventName).join(", ");
  return h(
    "tr",
    {},
    h(
      "td",
      { dataset: { label: "Webhook URL" } },
      h("a", { href, class: "url" }, endpoint.url),
      endpoint.description ? h("p", { class: "hint" }, endpoint.description) : null,
    ),
    h(
      "td",
      { dataset: { label: "Status" } },
      badge(endpoint.status, ENDPOINT_STATUS[endpoint.status] || endpoint.status),
    ),
    h("td", { dataset: { label: "Events" } }, events || "–"),
    h(
      "td",
      { dataset: { label: "Authentication" } },
      AUTH_NAMES[endpoint.auth.type] || endpoint.auth.type,
    ),
    h("td", { dataset: { label: "Created" } }, timeElement(endpoint.created_at)),
  );
}

export async function renderList(main) {
  const body = h(
    "div",
    { "aria-live": "polite" },
    h("p", { class: "hint" }, "Loading endpoints…"),
  );
  main.replaceChildren(
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Webhooks"),
      h(
        "a",
        { href: "#/endpoints/new", class: "button button-primary" },
        "Create new endpoint",
      ),
    ),
    h(
      "p",
      { class: "lead" },
      "Endpoints receive the authentication events they subscribe to, signed, " +
        "retried and logged.",
    ),
    body,
  );

  let endpoints;
  try {
    ({ endpoints } = await api.get("/endpoints"));
  } catch (error) {
    body.replaceChildren(notice("error", error.message));
    return;
  }

  if (endpoints.length === 0) {
    body.replaceChildren(
      h(
        "div",
        { class: "card empty" },
        h("p", {}, "No endpoints yet."),
        h("p", { class: "hint" }, "Create new endpoint sets one up, step by step."),
      ),
    );
    return;
  }
  body.replaceChildren(
    h(
      "table",
      { class: "endpoints responsive" },
      h("caption", { class: "visually-hidden" }, "Endpoints"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Webhook URL", "Status", "Events", "Authentication", "Created"].map((name) =>
            h("th", { scope: "col" }, name),
          ),
        ),
      ),
      h("tbody", {}, endpoints.map(row)),
    ),
  );
}
