// The endpoint settings, in the guide's sections and with its names: used by the
// Create new endpoint page and by the settings of an endpoint's page.

import { h, uid } from "./dom.js";
import { AUTH_NAMES, EVENT_NAMES, METADATA_NAMES } from "./names.js";

// Metadata in the order the guide lists it; anything newer follows.
const METADATA_ORDER = ["user", "ip", "device", "location"];

function ordered(names, order) {
  const known = order.filter((name) => names.includes(name));
  return known.concat(names.filter((name) => !order.includes(name)));
}

/** A number input's value as a number, or as typed when it is not one, so that the
 * server names what is wrong. */
// A labelled radio button or checkbox and its hint (text, or a list of text and
// elements): { input, element }.
function choice({ type, prefix, name, value, label, hint, checked }) {
  const id = uid(prefix);
  const hintId = uid("hint");
  const input = h("input", { type, id, name, value, "aria-describedby": hintId });
  input.checked = checked;
  const hints = Array.isArray(hint) ? hint : [hint];
  return {
    input,
    element: h(
      "div",
      { class: "choice" },
      input,
      h("label", { for: id }, label),
      h("p", { class: "hint", id: hintId }, ...hints),
    ),
  };
}

function numberOf(input) {
  const text = input.value.trim();
  const value = Number(text);
  return text === "" || !Number.isFinite(value) ? text : value;
}

export class SettingsForm {
  /**
   * `endpoint` gives the values to start from (none: the catalogue's defaults).
   * `withAuth` shows the authentication method as a choice; otherwise as text.
   * `heading` is the level of the sections' headings.
   */
  constructor(catalogue, endpoint, { withAuth = true, heading = "h2" } = {}) {
    this.catalogue = catalogue;
    this.heading = heading;
    this.endpoint = endpoint || null;
    this.errors = new Map(); // field name -> {element, controls}
    this.changeHandlers = [];

    const defaults = catalogue.defaults || {};
    this.start = {
      url: endpoint ? endpoint.url : "",
      authType: endpoint ? endpoint.auth.type : "shared_secret",
      header: endpoint?.auth.header || "Authorization",
      events: endpoint ? endpoint.events : [],
      format: endpoint ? endpoint.payload.format : defaults.format || "json",
      include: endpoint ? endpoint.payload.include : ["user"],
      maxAttempts: endpoint
        ? endpoint.retry.max_attempts
        : (defaults.max_attempts ?? 3),
      interval: endpoint ? endpoint.retry.interval : (defaults.interval ?? 60),
      deadLetterQueue: endpoint ? endpoint.dead_letter_queue : false,
      notification: endpoint?.failure_notification || "",
    };

    this.sections = {
      webhook: this.webhookSection(withAuth),
      events: this.eventsSection(),
      payload: this.payloadSection(),
      retry: this.retrySection(),
    };
  }

  // ---- errors next to the field the API names ------------------------------------

  errorFor(field, ...controls) {
    const element = h("p", {
      class: "field-error",
      id: uid("error"),
      hidden: true,
      dataset: { errorFor: field },
    });
    for (const control of controls) {
      const described = control.getAttribute("aria-describedby");
      control.setAttribute(
        "aria-describedby",
        [described, element.id].filter(Boolean).join(" "),
      );
    }
    this.errors.set(field, { element, controls });
    return element;
  }

  /** Shows `error` next to the field it names (or the nearest enclosing one); false
   * when it names none this form has. */
  showError(error) {
    let field = error.field || "";
    while (field) {
      const place = this.errors.get(field);
      if (place) {
        place.element.textContent = error.message;
        place.element.hidden = false;
        for (const control of place.controls)
          control.setAttribute("aria-invalid", "true");
        if (place.controls[0]) place.controls[0].focus();
        return true;
      }
      field = field.includes(".") ? field.slice(0, field.lastIndexOf(".")) : "";
    }
    return false;
  }

  clearErrors() {
    for (const { element, controls } of this.errors.values()) {
      element.textContent = "";
      element.hidden = true;
      for (const control of controls) control.removeAttribute("aria-invalid");
    }
  }

  /** Calls `handler` when the URL or the authentication method changes. */
  onTargetChange(handler) {
    this.changeHandlers.push(handler);
  }

  targetChanged() {
    for (const handler of this.changeHandlers) handler();
  }

  // ---- Webhook URL ----------------------------------------------------------------

  webhookSection(withAuth) {
    const urlId = uid("url");
    const urlHint = h(
      "p",
      { class: "hint", id: uid("hint") },
      "The full URL of your receiving server endpoint. It must use HTTPS, for example ",
      h("code", {}, "https://yourdomain.com/protekt/webhooks"),
      ".",
    );
    this.url = h("input", {
      id: urlId,
      name: "url",
      type: "url",
      inputmode: "url",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      placeholder: "https://yourdomain.com/protekt/webhooks",
      "aria-describedby": urlHint.id,
    });
    this.url.value = this.start.url;
    this.url.addEventListener("input", () => this.targetChanged());

    return h(
      "section",
      { class: "card" },
      h(this.heading, {}, "Webhook URL"),
      h(
        "div",
        { class: "field" },
        h("label", { for: urlId }, "Webhook URL"),
        urlHint,
        this.url,
        this.errorFor("url", this.url),
      ),
      withAuth ? this.authChoice() : this.authText(),
    );
  }

  authChoice() {
    const name = uid("auth");
    const option = (value, hint) => {
      const made = choice({
        type: "radio",
        prefix: "auth-type",
        name,
        value,
        label: AUTH_NAMES[value],
        hint,
        checked: this.start.authType === value,
      });
      made.input.addEventListener("change", () => {
        this.showHeader();
        this.targetChanged();
      });
      return made;
    };
    const secret = option(
      "shared_secret",
      "Protekt signs each request with an HMAC signature that your server verifies " +
        "with the secret.",
    );
    const token = option(
      "api_token",
      "Protekt sends a token in a request header that your server checks.",
    );
    this.authInputs = [secret.input, token.input];

    const headerId = uid("header");
    this.header = h("input", {
      id: headerId,
      name: "header",
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.header.value = this.start.header;
    this.header.addEventListener("input", () => this.targetChanged());
    this.headerField = h(
      "div",
      { class: "field nested" },
      h("label", { for: headerId }, "Header name"),
      this.header,
      this.errorFor("auth.header", this.header),
    );
    this.showHeader();

    return h(
      "fieldset",
      { class: "field" },
      h("legend", {}, "Authentication method"),
      secret.element,
      token.element,
      this.headerField,
      this.errorFor("auth", secret.input, token.input),
    );
  }

  authText() {
    const auth = this.endpoint.auth;
    const text =
      auth.type === "api_token"
        ? `${AUTH_NAMES.api_token}, in the header ${auth.header}`
        : AUTH_NAMES.shared_secret;
    return h("p", { class: "field" }, h("strong", {}, "Authentication method: "), text);
  }

  showHeader() {
    this.headerField.hidden = this.authType() !== "api_token";
  }

  authType() {
    if (!this.authInputs) return this.start.authType;
    return this.authInputs.find((input) => input.checked)?.value || "shared_secret";
  }

  /** The URL and authentication as they are now, to compare with later. */
  target() {
    const auth = this.auth();
    return JSON.stringify({ url: this.url.value.trim(), auth });
  }

  auth() {
    if (this.authType() === "api_token") {
      return { type: "api_token", header: this.header.value.trim() || "Authorization" };
    }
    return { type: "shared_secret" };
  }

  // ---- Events ---------------------------------------------------------------------

  eventsSection() {
    const hintId = uid("hint");
    this.eventInputs = this.catalogue.events.map((type) => {
      const [label, description] = EVENT_NAMES[type] || [type, ""];
      return choice({
        type: "checkbox",
        prefix: "event",
        name: "events",
        value: type,
        label,
        hint: [description ? `${description} ` : "", h("code", {}, type)],
        checked: this.start.events.includes(type),
      });
    });
    const fieldset = h(
      "fieldset",
      { class: "field", "aria-describedby": hintId },
      h("legend", { class: "visually-hidden" }, "Events"),
      h(
        "p",
        { class: "hint", id: hintId },
        "Choose which events trigger your webhook.",
      ),
      h(
        "div",
        { class: "choices" },
        this.eventInputs.map((e) => e.element),
      ),
    );
    fieldset.append(this.errorFor("events", ...this.eventInputs.map((e) => e.input)));
    return h("section", { class: "card" }, h(this.heading, {}, "Events"), fieldset);
  }

  events() {
    return this.eventInputs.filter((e) => e.input.checked).map((e) => e.input.value);
  }

  // ---- Payload configuration ------------------------------------------------------

  payloadSection() {
    const name = uid("format");
    const formats = [
      ["json", "JSON", "The default and recommended format."],
      [
        "form",
        "Form",
        "application/x-www-form-urlencoded, the JSON in a payload field.",
      ],
    ];
    this.formatInputs = formats.map(([value, label, hint]) =>
      choice({
        type: "radio",
        prefix: "format",
        name,
        value,
        label,
        hint,
        checked: this.start.format === value,
      }),
    );

    const metadata = ordered(this.catalogue.metadata || [], METADATA_ORDER);
    this.metadataInputs = metadata.map((key) => {
      const [label, hint] = METADATA_NAMES[key] || [key, ""];
      return choice({
        type: "checkbox",
        prefix: "metadata",
        name: "include",
        value: key,
        label,
        hint,
        checked: this.start.include.includes(key),
      });
    });

    return h(
      "section",
      { class: "card" },
      h(this.heading, {}, "Payload configuration"),
      h(
        "fieldset",
        { class: "field" },
        h("legend", {}, "Format"),
        this.formatInputs.map((f) => f.element),
        this.errorFor("payload.format", ...this.formatInputs.map((f) => f.input)),
      ),
      h(
        "fieldset",
        { class: "field" },
        h("legend", {}, "Metadata to include"),
        h(
          "div",
          { class: "choices" },
          this.metadataInputs.map((m) => m.element),
        ),
        this.errorFor("payload.include", ...this.metadataInputs.map((m) => m.input)),
      ),
      this.errorFor("payload"),
    );
  }

  payload() {
    return {
      format: this.formatInputs.find((f) => f.input.checked)?.input.value || "json",
      include: this.metadataInputs
        .filter((m) => m.input.checked)
        .map((m) => m.input.value),
    };
  }

  // ---- Retry and failure ----------------------------------------------------------

  numberField(name, label, hint, value, attributes, unit) {
    const id = uid(name.replace(".", "-"));
    const hintId = uid("hint");
    const input = h("input", {
      id,
      name,
      type: "number",
      inputmode: "numeric",
      "aria-describedby": hintId,
      ...attributes,
    });
    input.value = String(value);
    const field = h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h("p", { class: "hint", id: hintId }, hint),
      h(
        "div",
        { class: "with-unit" },
        input,
        unit ? h("span", { "aria-hidden": "true" }, unit) : null,
      ),
      this.errorFor(name, input),
    );
    return { input, field };
  }

  retrySection() {
    const attempts = this.numberField(
      "retry.max_attempts",
      "Max retry attempts",
      "Retries after the first attempt. The default is 3.",
      this.start.maxAttempts,
      { min: 0, max: 50, step: 1 },
    );
    const interval = this.numberField(
      "retry.interval",
      "Retry interval (seconds)",
      "Seconds between retries. The default is 60 seconds.",
      this.start.interval,
      { min: 1, step: 1 },
      "s",
    );
    this.maxAttempts = attempts.input;
    this.interval = interval.input;

    const dlqId = uid("dlq");
    const dlqHintId = uid("hint");
    this.deadLetterQueue = h("input", {
      type: "checkbox",
      id: dlqId,
      name: "dead_letter_queue",
      "aria-describedby": dlqHintId,
    });
    this.deadLetterQueue.checked = this.start.deadLetterQueue;

    const notificationId = uid("notification");
    const notificationHintId = uid("hint");
    this.notification = h("input", {
      id: notificationId,
      name: "failure_notification",
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "ops@example.com or https://alerts.example.com/hook",
      "aria-describedby": notificationHintId,
    });
    this.notification.value = this.start.notification;

    return h(
      "section",
      { class: "card" },
      h(this.heading, {}, "Retry and failure"),
      h("div", { class: "grid-2" }, attempts.field, interval.field),
      this.errorFor("retry"),
      h(
        "div",
        { class: "field choice" },
        this.deadLetterQueue,
        h("label", { for: dlqId }, "Enable dead-letter queue"),
        h(
          "p",
          { class: "hint", id: dlqHintId },
          "Keep deliveries that still fail after the last retry, to inspect and " +
            "replay them.",
        ),
        this.errorFor("dead_letter_queue", this.deadLetterQueue),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: notificationId }, "Failure notification"),
        h(
          "p",
          { class: "hint", id: notificationHintId },
          "An email address or an https URL told about persistent delivery failures. " +
            "Optional.",
        ),
        this.notification,
        this.errorFor("failure_notification", this.notification),
      ),
    );
  }

  retry() {
    const base = this.endpoint ? { ...this.endpoint.retry } : {};
    return {
      ...base,
      max_attempts: numberOf(this.maxAttempts),
      interval: numberOf(this.interval),
    };
  }

  /** Every setting but the URL and the authentication, as the API takes them. */
  options() {
    return {
      events: this.events(),
      payload: this.payload(),
      retry: this.retry(),
      dead_letter_queue: this.deadLetterQueue.checked,
      failure_notification: this.notification.value.trim() || null,
    };
  }
}
