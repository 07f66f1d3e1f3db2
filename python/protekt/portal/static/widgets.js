// Pieces several pages show: the secret shown once, the answer of Verify endpoint,
// a delivery with its attempts.

import { badge, count, formatDuration, h, timeElement, uid } from "./dom.js";
import { DELIVERY_STATUS, eventName } from "./names.js";

/** The secret (or token) of a new endpoint or of a rotation, with a copy button. */
export function secretPanel(endpoint) {
  const token = endpoint.token || endpoint.auth?.token;
  const value = endpoint.secret || token;
  if (!value) return null;
  const label = endpoint.secret ? "Signing secret" : "API token";
  const inputId = uid("secret");
  const hintId = uid("hint");
  const input = h("input", {
    id: inputId,
    type: "text",
    readonly: true,
    class: "mono",
    spellcheck: "false",
    "aria-describedby": hintId,
  });
  input.value = value;
  const outcome = h("span", { class: "copy-outcome", role: "status" });
  const copy = h("button", { type: "button", class: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      outcome.textContent = "Copied to the clipboard.";
    } catch {
      const copied = document.execCommand?.("copy");
      outcome.textContent = copied
        ? "Copied to the clipboard."
        : "Press Ctrl+C to copy it.";
    }
  });
  return h(
    "div",
    { class: "secret-panel" },
    h("label", { for: inputId }, label),
    h(
      "p",
      { class: "hint", id: hintId },
      "Copy it now and give it to your receiving server: it is shown only once.",
    ),
    h("div", { class: "copy-row" }, input, copy),
    outcome,
  );
}

/** The answer to Verify endpoint: status, response time and error. */
export function verificationView(verification) {
  if (!verification) {
    return h("p", { class: "verification" }, "Not verified yet.");
  }
  const passed = verification.passed ?? verification.status === 200;
  return h(
    "div",
    { class: `verification ${passed ? "passed" : "failed"}` },
    h(
      "p",
      { class: "verdict" },
      passed
        ? "Verified: the endpoint answered 200."
        : "Verification failed: the endpoint must answer 200.",
    ),
    h(
      "dl",
      { class: "facts" },
      h(
        "div",
        {},
        h("dt", {}, "Status"),
        h("dd", {}, verification.status ?? "no response"),
      ),
      h(
        "div",
        {},
        h("dt", {}, "Response time"),
        h("dd", {}, formatDuration(verification.duration)),
      ),
      h("div", {}, h("dt", {}, "Error"), h("dd", {}, verification.error || "none")),
      h("div", {}, h("dt", {}, "Checked"), h("dd", {}, timeElement(verification.at))),
    ),
  );
}

function cell(label, ...content) {
  return h("td", { dataset: { label } }, ...content);
}

/** Each attempt of a delivery: status, duration, error and the response excerpt. */
export function attemptsTable(attempts) {
  if (!attempts || attempts.length === 0) {
    return h("p", { class: "hint" }, "No attempt made yet.");
  }
  return h(
    "table",
    { class: "attempts" },
    h("caption", { class: "visually-hidden" }, "Attempts"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Attempt", "Started", "Status", "Duration", "Error", "Response excerpt"].map(
          (name) => h("th", { scope: "col" }, name),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      attempts.map((attempt) =>
        h(
          "tr",
          {},
          cell("Attempt", String(attempt.number)),
          cell("Started", timeElement(attempt.started_at)),
          cell(
            "Status",
            attempt.status
              ? badge(
                  attempt.status >= 200 && attempt.status < 300 ? "ok" : "bad",
                  String(attempt.status),
                )
              : "no response",
          ),
          cell("Duration", formatDuration(attempt.duration)),
          cell("Error", attempt.error || attempt.error_class || "–"),
          cell(
            "Response excerpt",
            attempt.response_excerpt
              ? h("pre", { class: "excerpt" }, attempt.response_excerpt)
              : "–",
          ),
        ),
      ),
    ),
  );
}

/** The result of Send test event, or of one delivery. */
export function deliveryResult(delivery) {
  return h(
    "div",
    { class: "delivery-result" },
    h(
      "p",
      {},
      badge(delivery.status, DELIVERY_STATUS[delivery.status] || delivery.status),
      " ",
      `${eventName(delivery.event_type)}, ${count(delivery.attempts, "attempt")}`,
      delivery.event_id
        ? h("span", { class: "hint" }, ` (${delivery.event_id})`)
        : null,
    ),
    attemptsTable(delivery.attempt_log),
  );
}

/** A message about an action; errors are alerts, the rest goes in live regions. */
export function notice(kind, text) {
  return h(
    "p",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null },
    text,
  );
}
