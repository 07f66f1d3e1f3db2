// Small DOM helpers. Data only ever reaches the page as text nodes or attribute
// values, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function applyAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(
      child instanceof Node ? child : document.createTextNode(String(child)),
    );
  }
  return element;
}

/** An HTML element: h("p", {class: "hint"}, "text", otherNode). */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  applyAttributes(element, attributes);
  return append(element, children);
}

/** An SVG element, the same way. */
export function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  applyAttributes(element, attributes);
  return append(element, children);
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

let nextId = 0;

/** A document-unique id for label/input pairs. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A date-time as the reader's locale writes it; "–" for none. */
export function formatTime(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** A duration given in seconds: "52 ms" below a second, "1.25 s" above. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) {
    return "–";
  }
  const value = Number(seconds);
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

/** "1 attempt", "2 attempts". */
export function count(number, noun) {
  return `${number} ${noun}${number === 1 ? "" : "s"}`;
}

/** A <time> element showing `value` in the reader's locale. */
export function timeElement(value) {
  return h("time", { datetime: value || null }, formatTime(value));
}

/** A status badge: the class picks the colour, the text says it. */
export function badge(status, label) {
  return h(
    "span",
    { class: `badge badge-${String(status).replace(/[^a-z_]/g, "")}` },
    label,
  );
}

/** Asks a yes-or-no question in a modal <dialog>; resolves true on confirm. */
export function confirmDialog({ title, message, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const confirm = h(
      "button",
      {
        type: "button",
        class: danger ? "button button-danger" : "button button-primary",
      },
      confirmLabel,
    );
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      h("p", {}, message),
      h("div", { class: "actions" }, cancel, confirm),
    );
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Runs `action` with `button` disabled and marked busy, whatever happens. */
export async function busy(button, action, busyLabel) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (busyLabel) button.textContent = busyLabel;
  try {
    return await action();
  } finally {
    button.removeAttribute("aria-busy");
    button.textContent = label;
    button.disabled = false;
  }
}
