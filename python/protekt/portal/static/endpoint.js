// An endpoint's page: its state and actions, activity chart, delivery log,
// dead-letter queue and settings. Its live parts refresh by themselves while the
// page is visible (docs/portal.md, "The endpoint page").

import * as api from "./api.js";
import { activityChart } from "./chart.js";
import {
  badge,
  busy,
  confirmDialog,
  count,
  formatDuration,
  h,
  timeElement,
  uid,
} from "./dom.js";
import { SettingsForm } from "./form.js";
import { DELIVERY_STATUS, ENDPOINT_STATUS, EVENT_NAMES, eventName } from "./names.js";
import {
  attemptsTable,
  deliveryResult,
  notice,
  secretPanel,
  verificationView,
} from "./widgets.js";

const LOG_PAGE = 20;
const DEAD_LETTER_PAGE = 50;

// After a replay the page follows the delivery until it finishes: this often, at
// most this many times.
const FOLLOW_EVERY_MS = 300;
const FOLLOW_TIMES = 40;

// How often the live parts refresh. `?refresh=<seconds>` in the address, before the
// "#", changes it within these bounds; `?refresh=0` turns it off.
const REFRESH_S = 5;
const MIN_REFRESH_S = 0.2;
const MAX_REFRESH_S = 3600;

const RANGES = [
  [24, 24, "Last 24 hours"],
  [6, 24, "Last 6 hours"],
  [168, 28, "Last 7 days"],
];

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The refresh interval in milliseconds that the address asks for; 0 for none. */
function refreshInterval() {
  const asked = new URLSearchParams(location.search).get("refresh");
  const seconds = asked === null || asked.trim() === "" ? REFRESH_S : Number(asked);
  if (!Number.isFinite(seconds) || seconds < 0) return REFRESH_S * 1000;
  if (seconds === 0) return 0;
  return Math.min(Math.max(seconds, MIN_REFRESH_S), MAX_REFRESH_S) * 1000;
}

/**
 * Calls `tick` every `interval` ms while the document is visible, and at once when
 * it becomes visible again; never while the last call is still running. `stop()`
 * ends it for good.
 */
class Poller {
  constructor(interval, tick) {
    this.interval = interval;
    this.tick = tick;
    this.timer = null;
    this.running = false;
    this.stopped = false;
    this.onVisibility = () => {
      if (document.visibilityState === "hidden") this.cancel();
      else this.run();
    };
    document.addEventListener("visibilitychange", this.onVisibility);
    this.schedule();
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule() {
    this.cancel();
    if (this.stopped || document.visibilityState === "hidden") return;
    this.timer = setTimeout(() => this.run(), this.interval);
  }

  async run() {
    this.cancel();
    // A call still running schedules the next one when it ends.
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      await this.tick();
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  stop() {
    this.stopped = true;
    this.cancel();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}

function section(title, ...content) {
  const headingId = uid("heading");
  return h(
    "section",
    { class: "card", "aria-labelledby": headingId },
    h("h2", { id: headingId }, title),
    ...content,
  );
}

export async function renderEndpoint(main, { id, navigate, onLeave }) {
  const path = api.endpointPath(id);
  main.replaceChildren(h("p", { class: "hint" }, "Loading the endpoint…"));
  let endpoint;
  let catalogue;
  try {
    [endpoint, catalogue] = await Promise.all([api.get(path), api.getCatalogue()]);
  } catch (error) {
    main.replaceChildren(
      h("h1", { tabindex: "-1" }, "Endpoint"),
      notice(
        "error",
        error.status === 404 ? "There is no such endpoint." : error.message,
      ),
      h("p", {}, h("a", { href: "#/endpoints" }, "Back to Webhooks")),
    );
    return;
  }

  const page = new EndpointPage(main, endpoint, catalogue, { navigate, onLeave });
  page.render();
}

class EndpointPage {
  constructor(main, endpoint, catalogue, { navigate, onLeave }) {
    this.main = main;
    this.endpoint = endpoint;
    this.catalogue = catalogue;
    this.navigate = navigate;
    this.path = api.endpointPath(endpoint.id);
    this.range = RANGES[0];
    this.stopChart = () => {};

    // What each live part shows, as JSON, so a refresh that brings nothing new
    // leaves it alone (no flicker, no repeated announcement, focus kept).
    this.shown = new Map();
    // The delivery log: the deliveries of the pages shown, the cursor of the next
    // page, and a counter that lets only the latest load of the log show.
    this.logDeliveries = [];
    this.logPages = 1;
    this.logNext = null;
    this.logLoad = 0;
    this.logItems = new Map();
    // Refreshes run one after another, never two at once.
    this.refreshes = Promise.resolve();
    this.refreshing = 0;
    this.poller = null;
    this.left = false;
    onLeave(() => this.leave());

    this.outcome = h("div", { class: "outcome", "aria-live": "polite" });
    this.head = h("div", {});
    this.actions = h("div", { class: "actions toolbar" });
    this.activation = h("div", {});
    this.freshness = h("p", { class: "hint freshness" });
    this.updatedAt = h("span", {});
    this.refreshProblem = h("span", { role: "status" });
    this.freshness.append(this.updatedAt, " ", this.refreshProblem);
    this.stats = h("div", { "aria-live": "polite" });
    this.chart = h("div", {});
    this.log = h("div", {});
    this.deadLetters = h("div", {});
    this.settings = h("div", {});
  }

  render() {
    this.main.replaceChildren(
      h(
        "nav",
        { class: "breadcrumbs", "aria-label": "Breadcrumbs" },
        h("a", { href: "#/endpoints" }, "Webhooks"),
        h("span", { "aria-hidden": "true" }, " / "),
        h("span", { "aria-current": "page" }, "Endpoint"),
      ),
      this.head,
      this.actions,
      this.freshness,
      this.outcome,
      this.activation,
      section("Summary", this.stats),
      section("Activity", this.rangeChooser(), this.chart),
      section("Delivery log", this.logFilters(), this.log),
      section("Dead-letter queue", this.deadLetters),
      section("Settings", this.settings),
    );
    this.showHead();
    this.refreshAll();
    this.showSettings();

    const interval = refreshInterval();
    if (interval > 0) this.poller = new Poller(interval, () => this.refreshQuietly());
  }

  leave() {
    this.left = true;
    this.poller?.stop();
    this.stopChart();
  }

  /**
   * Loads the live parts again: summary, chart, delivery log, dead letters, after any
   * refresh still running. A part that fails shows its error in its place. `quiet`,
   * a part that fails keeps what it showed and the refresh throws the error; the
   * endpoint's status is refreshed too.
   */
  refreshAll({ quiet = false } = {}) {
    const run = this.refreshes.then(() => this.refreshParts(quiet));
    this.refreshes = run.catch(() => {});
    return run;
  }

  async refreshParts(quiet) {
    if (this.left) return;
    this.refreshing += 1;
    try {
      const results = await Promise.allSettled([
        this.showStats({ quiet }),
        this.showChart({ quiet }),
        this.refreshLog({ quiet }),
        this.showDeadLetters({ quiet }),
        quiet ? this.refreshStatus() : true,
      ]);
      const failure = results.find((result) => result.status === "rejected");
      if (failure) throw failure.reason;
      if (results.every((result) => result.value !== false)) this.showFresh();
    } finally {
      this.refreshing -= 1;
    }
  }

  /** One tick of the poller: a refresh that stays out of the reader's way. */
  async refreshQuietly() {
    if (!this.main.contains(this.head) || !api.signedIn()) {
      // The page is gone (signed out, or replaced without leaving).
      this.leave();
      return;
    }
    if (this.refreshing > 0 || this.interrupted()) return;
    try {
      await this.refreshAll({ quiet: true });
    } catch (error) {
      this.showStale(error);
    }
  }

  /** True while a dialog is open or an action is running: the tick is skipped. */
  interrupted() {
    return Boolean(
      document.querySelector("dialog[open]") ||
        this.main.querySelector("[aria-busy='true']"),
    );
  }

  showFresh() {
    const now = new Date();
    this.updatedAt.replaceChildren(
      "Updated ",
      h("time", { datetime: now.toISOString() }, now.toLocaleTimeString()),
      ".",
    );
    this.refreshProblem.replaceChildren();
    this.freshness.classList.remove("stale");
  }

  /** Says once, quietly, that the page could not refresh; a success clears it. */
  showStale(error) {
    if (this.left || this.freshness.classList.contains("stale")) return;
    this.freshness.classList.add("stale");
    const reason = error.message.replace(/\.$/, "");
    this.refreshProblem.replaceChildren(`Could not refresh (${reason}); trying again.`);
  }

  /** Whether `part` shows `data` already; if not, remembers that it is about to. */
  showing(part, data) {
    const json = JSON.stringify(data);
    if (this.shown.get(part) === json) return true;
    this.shown.set(part, json);
    return false;
  }

  /** Shows an error in `part`, or throws it for a quiet refresh. */
  failed(part, error, quiet) {
    if (quiet) throw error;
    this.shown.delete(part);
    part.replaceChildren(notice("error", error.message));
    return false;
  }

  say(kind, text, ...extra) {
    this.outcome.replaceChildren(notice(kind, text), ...extra);
  }

  // ---- head and actions -------------------------------------------------------------

  showHead() {
    const ep = this.endpoint;
    // A wrapper, since h() skips what is null and replaceChildren would not.
    const head = h(
      "div",
      {},
      h(
        "div",
        { class: "page-head" },
        h("h1", { tabindex: "-1", class: "url" }, ep.url),
        badge(ep.status, ENDPOINT_STATUS[ep.status] || ep.status),
      ),
      ep.description ? h("p", { class: "lead" }, ep.description) : null,
      h(
        "p",
        { class: "hint" },
        "Endpoint ",
        h("code", {}, ep.id),
        ", created ",
        timeElement(ep.created_at),
        ".",
      ),
    );
    this.head.replaceChildren(head);

    const button = (label, handler, extra = {}) => {
      const element = h("button", { type: "button", class: "button", ...extra }, label);
      element.addEventListener("click", () => busy(element, () => handler(element)));
      return element;
    };
    const testHintId = uid("hint");
    const active = ep.status === "active";
    const test = button("Send test event", () => this.sendTest(), {
      class: "button button-primary",
      "aria-describedby": active ? null : testHintId,
    });
    const items = [test];
    if (active) items.push(button("Pause", () => this.changeStatus("pause")));
    if (ep.status === "paused" || ep.status === "disabled") {
      items.push(button("Resume", () => this.changeStatus("resume")));
    }
    const rotateLabel = ep.auth.type === "api_token" ? "Rotate token" : "Rotate secret";
    items.push(button(rotateLabel, () => this.rotate()));
    items.push(button("Refresh", () => this.reload()));
    items.push(
      button("Delete endpoint", () => this.remove(), { class: "button button-danger" }),
    );
    this.actions.replaceChildren(...items);
    if (!active) {
      this.actions.append(
        h(
          "p",
          { class: "hint", id: testHintId },
          "Send test event needs an active endpoint.",
        ),
      );
    }
    test.disabled = !active;

    this.showActivation();
  }

  async reload() {
    try {
      this.endpoint = await api.get(this.path);
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    this.showHead();
    this.showSettings();
    await this.refreshAll();
  }

  /**
   * Shows a status the endpoint took elsewhere: disabled by the engine after it
   * answered 410 Gone or kept failing, or changed in another window.
   */
  async refreshStatus() {
    const before = this.endpoint;
    const fresh = await api.get(this.path);
    const changed = fresh.status !== before.status;
    if (this.left || this.endpoint !== before || !changed) return;
    // Rebuilding the head would take the focus from a control: the next tick.
    const focus = document.activeElement;
    const parts = [this.head, this.actions, this.activation];
    const inPart = parts.some((part) => part.contains(focus));
    if (inPart && focus.matches("button, input, select, textarea, a")) return;
    const { status, verification } = fresh;
    this.endpoint = { ...before, status, verification };
    this.showHead();
    if (inPart) this.head.querySelector("h1").focus({ preventScroll: true });
  }

  async sendTest() {
    this.say("info", "Sending a test event…");
    try {
      const delivery = await api.post(`${this.path}/test`);
      this.outcome.replaceChildren(h("h2", {}, "Test event"), deliveryResult(delivery));
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    await this.refreshAll();
  }

  async changeStatus(action) {
    try {
      this.endpoint = await api.post(`${this.path}/${action}`);
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    this.showHead();
    this.say(
      "ok",
      action === "pause"
        ? "Paused: no events are sent to this endpoint until you resume it."
        : "Resumed: the endpoint receives events again.",
    );
    this.head.querySelector("h1").focus();
  }

  async rotate() {
    const token = this.endpoint.auth.type === "api_token";
    const confirmed = await confirmDialog(
      token
        ? {
            title: "Rotate the API token?",
            message:
              "A new token is sent with every delivery from now on, and the old one " +
              "stops working at once. Give the new token to your server first.",
            confirmLabel: "Rotate token",
          }
        : {
            title: "Rotate the signing secret?",
            message:
              "A new secret signs every delivery from now on. Deliveries are signed " +
              "with the old secret too for a grace period, so your server can switch " +
              "without dropping a request.",
            confirmLabel: "Rotate secret",
          },
    );
    if (!confirmed) return;
    try {
      const rotated = await api.post(`${this.path}/rotate-secret`, {});
      this.endpoint = { ...rotated, secret: null, token: null };
      this.outcome.replaceChildren(
        notice(
          "ok",
          `The ${token ? "token" : "secret"} was rotated. ` +
            "Give the new one to your server.",
        ),
        secretPanel(rotated) ||
          notice("error", "The server did not send the new value."),
      );
    } catch (error) {
      this.say("error", error.message);
    }
  }

  async remove() {
    const confirmed = await confirmDialog({
      title: "Delete this endpoint?",
      message:
        "It stops receiving events, and its settings and pending deliveries are " +
        "removed. " +
        "This cannot be undone.",
      confirmLabel: "Delete endpoint",
      danger: true,
    });
    if (!confirmed) return;
    try {
      await api.remove(this.path);
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    this.navigate("#/endpoints");
  }

  // ---- Verify endpoint and Save webhook, while the endpoint is not active ---------

  showActivation() {
    const ep = this.endpoint;
    if (ep.status !== "created" && ep.status !== "verified") {
      this.activation.replaceChildren();
      return;
    }
    const result = h(
      "div",
      { class: "outcome", "aria-live": "polite" },
      verificationView(ep.verification),
    );
    const verify = h("button", { type: "button", class: "button" }, "Verify endpoint");
    const save = h(
      "button",
      { type: "button", class: "button button-primary" },
      "Save webhook",
    );
    const passed = () => Boolean(this.endpoint.verification?.passed);
    save.disabled = !passed();
    verify.addEventListener("click", () =>
      busy(
        verify,
        async () => {
          try {
            this.endpoint = await api.post(`${this.path}/verify`);
            result.replaceChildren(verificationView(this.endpoint.verification));
          } catch (error) {
            result.replaceChildren(notice("error", error.message));
          }
        },
        "Verifying…",
      ).then(() => {
        save.disabled = !passed();
      }),
    );
    save.addEventListener("click", () =>
      busy(save, async () => {
        try {
          this.endpoint = await api.post(`${this.path}/save`);
        } catch (error) {
          result.replaceChildren(notice("error", error.message));
          return;
        }
        this.showHead();
        this.say("ok", "Saved: the webhook is active.");
      }),
    );
    this.activation.replaceChildren(
      section(
        "Activate",
        h(
          "p",
          {},
          "This endpoint receives no events yet. Verify endpoint sends it a " +
            "challenge; " +
            "once it answers 200, Save webhook activates it.",
        ),
        h("div", { class: "actions" }, verify, save),
        result,
      ),
    );
  }

  // ---- Summary ----------------------------------------------------------------------

  async showStats({ quiet = false } = {}) {
    let stats;
    try {
      stats = await api.get(`${this.path}/stats`);
    } catch (error) {
      return this.failed(this.stats, error, quiet);
    }
    if (this.showing(this.stats, stats)) return true;
    const rate = stats.success_rate;
    const percent =
      rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
    const latency = stats.latency || {};
    const lastError =
      stats.last_error && typeof stats.last_error === "object"
        ? stats.last_error.message ||
          stats.last_error.error ||
          JSON.stringify(stats.last_error)
        : stats.last_error;
    const fact = (name, value) =>
      h("div", { class: "stat" }, h("dt", {}, name), h("dd", {}, value));
    this.stats.replaceChildren(
      h(
        "dl",
        { class: "stats" },
        fact("Deliveries", String(stats.deliveries)),
        fact("Succeeded", String(stats.succeeded)),
        fact("Failed", String(stats.failed)),
        fact("Dead-lettered", String(stats.dead_lettered)),
        fact("Success rate", percent),
        fact("Latency p50", formatDuration(latency.p50)),
        fact("Latency p90", formatDuration(latency.p90)),
        fact("Latency p99", formatDuration(latency.p99)),
      ),
      h("p", { class: "hint" }, "Last error: ", lastError || "none"),
    );
    return true;
  }

  // ---- Activity ---------------------------------------------------------------------

  rangeChooser() {
    const id = uid("range");
    const select = h(
      "select",
      { id },
      RANGES.map(([, , name], index) => h("option", { value: String(index) }, name)),
    );
    select.addEventListener("change", () => {
      this.range = RANGES[Number(select.value)];
      this.showChart();
    });
    return h(
      "div",
      { class: "field inline" },
      h("label", { for: id }, "Period"),
      select,
    );
  }

  async showChart({ quiet = false } = {}) {
    const range = this.range;
    const [hours, buckets] = range;
    let activity;
    try {
      activity = await api.get(`${this.path}/activity`, { hours, buckets });
    } catch (error) {
      if (range !== this.range) return true;
      return this.failed(this.chart, error, quiet);
    }
    // Another period was chosen meanwhile, or the page left: that one shows.
    if (range !== this.range || this.left) return true;
    if (this.showing(this.chart, [hours, activity])) return true;
    const tableOpen = Boolean(this.chart.querySelector("details.chart-details[open]"));
    this.stopChart();
    const { figure, stop } = activityChart(activity.buckets, hours);
    this.stopChart = stop;
    this.chart.replaceChildren(figure);
    if (tableOpen) figure.querySelector("details.chart-details").open = true;
    if (activity.truncated) {
      this.chart.append(
        h(
          "p",
          { class: "hint" },
          "The period held more deliveries than were counted: the chart shows part " +
            "of them.",
        ),
      );
    }
    return true;
  }

  // ---- Delivery log -----------------------------------------------------------------

  logFilters() {
    const statusId = uid("status");
    const eventId = uid("event-type");
    this.statusFilter = h(
      "select",
      { id: statusId },
      h("option", { value: "" }, "Any status"),
      Object.entries(DELIVERY_STATUS).map(([value, name]) =>
        h("option", { value }, name),
      ),
    );
    const types = [...this.catalogue.events, "webhook.test"];
    this.eventFilter = h(
      "select",
      { id: eventId },
      h("option", { value: "" }, "Any event"),
      types.map((type) =>
        h("option", { value: type }, EVENT_NAMES[type] ? EVENT_NAMES[type][0] : type),
      ),
    );
    for (const select of [this.statusFilter, this.eventFilter]) {
      select.addEventListener("change", () => this.showLog());
    }
    return h(
      "div",
      { class: "filters" },
      h(
        "div",
        { class: "field inline" },
        h("label", { for: statusId }, "Status"),
        this.statusFilter,
      ),
      h(
        "div",
        { class: "field inline" },
        h("label", { for: eventId }, "Event"),
        this.eventFilter,
      ),
    );
  }

  /** Shows the log's first page afresh, for the filters chosen. */
  async showLog() {
    this.logPages = 1;
    await this.refreshLog();
  }

  /** One page of the log, each delivery with its attempts: one request. */
  logPage(after) {
    return api.get("/deliveries", {
      endpoint_id: this.endpoint.id,
      status: this.statusFilter.value,
      event_type: this.eventFilter.value,
      include: "attempts",
      limit: LOG_PAGE,
      after,
    });
  }

  /** Loads again as many pages of the log as it shows, one request a page. */
  async refreshLog({ quiet = false } = {}) {
    const load = ++this.logLoad;
    const deliveries = [];
    let next = null;
    try {
      for (let page = 0; page < this.logPages && (page === 0 || next); page += 1) {
        const answer = await this.logPage(next);
        deliveries.push(...answer.deliveries);
        next = answer.next;
      }
    } catch (error) {
      if (load !== this.logLoad) return true;
      return this.failed(this.log, error, quiet);
    }
    if (load !== this.logLoad) return true; // a newer load of the log shows
    this.logDeliveries = deliveries;
    this.logNext = next;
    this.showLogItems();
    return true;
  }

  async loadMore(button) {
    const load = ++this.logLoad;
    let answer;
    try {
      answer = await this.logPage(this.logNext);
    } catch (error) {
      if (load !== this.logLoad) return;
      // The next refresh shows the log afresh, without this notice.
      this.shown.delete(this.log);
      button.before(notice("error", error.message));
      return;
    }
    if (load !== this.logLoad) return;
    this.logDeliveries = [...this.logDeliveries, ...answer.deliveries];
    this.logPages += 1;
    this.logNext = answer.next;
    this.showLogItems();
  }

  /**
   * Shows `logDeliveries`. A delivery shown already and unchanged keeps its element,
   * so it stays open or closed as the reader left it, and so does the focus.
   */
  showLogItems() {
    if (this.showing(this.log, [this.logDeliveries, Boolean(this.logNext)])) return;
    const focused = this.log.contains(document.activeElement)
      ? document.activeElement
      : null;
    const focusedKey = focused?.closest("[data-key]")?.dataset.key;

    const previous = this.logItems;
    this.logItems = new Map();
    const items = this.logDeliveries.map((delivery) => {
      const key = `${delivery.event_id}/${delivery.endpoint_id}`;
      const json = JSON.stringify(delivery);
      const old = previous.get(key);
      let element = old?.element;
      if (old?.json !== json) {
        element = this.deliveryItem(delivery, key);
        element.open = Boolean(old?.element.open);
      }
      this.logItems.set(key, { json, element });
      return element;
    });
    if (items.length === 0) {
      items.push(h("p", { class: "hint" }, "No deliveries yet."));
    }
    if (this.logNext) {
      const more = h("button", { type: "button", class: "button" }, "Load more");
      more.addEventListener("click", () => busy(more, () => this.loadMore(more)));
      items.push(more);
    }
    this.log.replaceChildren(h("div", { class: "deliveries" }, items));

    // Moving an element out and back takes its focus away: give it back.
    if (focused && document.activeElement !== focused) {
      const again = focused.isConnected
        ? focused
        : focusedKey &&
          this.logItems.get(focusedKey)?.element.querySelector("summary");
      (again || this.log.querySelector("button"))?.focus({ preventScroll: true });
    }
  }

  deliveryItem(delivery, key) {
    const last = delivery.last_status ? `HTTP ${delivery.last_status}` : "no response";
    return h(
      "details",
      { class: "delivery", dataset: { key } },
      h(
        "summary",
        {},
        h("span", { class: "when" }, timeElement(delivery.created_at)),
        h("span", { class: "what" }, eventName(delivery.event_type)),
        badge(delivery.status, DELIVERY_STATUS[delivery.status] || delivery.status),
        h("span", { class: "hint" }, `${count(delivery.attempts, "attempt")}, ${last}`),
      ),
      h("p", { class: "hint" }, "Event ", h("code", {}, delivery.event_id)),
      attemptsTable(delivery.attempt_log),
    );
  }

  // ---- Dead-letter queue ------------------------------------------------------------

  async showDeadLetters({ quiet = false } = {}) {
    let page;
    try {
      page = await api.get("/dead-letters", {
        endpoint_id: this.endpoint.id,
        limit: DEAD_LETTER_PAGE,
      });
    } catch (error) {
      return this.failed(this.deadLetters, error, quiet);
    }
    if (this.showing(this.deadLetters, [page, this.endpoint.dead_letter_queue])) {
      return true;
    }
    const letters = page.dead_letters;
    const total = page.count ?? letters.length;
    const intro = this.endpoint.dead_letter_queue
      ? "Deliveries that still failed after the last retry wait here to be replayed."
      : "The dead-letter queue is off for this endpoint: failed deliveries are " +
        "dropped.";
    const items = [h("p", { class: "hint" }, intro)];
    if (total === 0) {
      items.push(h("p", {}, "The queue is empty."));
      this.deadLetters.replaceChildren(...items);
      return true;
    }

    const replayAll = h("button", { type: "button", class: "button" }, "Replay all");
    replayAll.addEventListener("click", () => busy(replayAll, () => this.replayAll()));
    const purge = h(
      "button",
      { type: "button", class: "button button-danger" },
      "Purge",
    );
    purge.addEventListener("click", () => busy(purge, () => this.purge(total)));
    items.push(
      h("p", {}, `${count(total, "dead letter")}.`),
      h("div", { class: "actions" }, replayAll, purge),
      h(
        "ul",
        { class: "dead-letters" },
        letters.map((letter) => this.deadLetterItem(letter)),
      ),
    );
    if (page.next)
      items.push(h("p", { class: "hint" }, `Showing the first ${letters.length}.`));
    this.deadLetters.replaceChildren(...items);
    return true;
  }

  deadLetterItem(letter) {
    const replay = h(
      "button",
      {
        type: "button",
        class: "button",
        "aria-label": `Replay ${eventName(letter.event_type)} ${letter.event_id}`,
      },
      "Replay",
    );
    replay.addEventListener("click", () => busy(replay, () => this.replay(letter)));
    const last = letter.last_status ? `HTTP ${letter.last_status}` : "no response";
    return h(
      "li",
      { class: "dead-letter" },
      h(
        "div",
        {},
        h("strong", {}, eventName(letter.event_type)),
        " ",
        h("code", {}, letter.event_id),
        h(
          "p",
          { class: "hint" },
          timeElement(letter.created_at),
          `, ${count(letter.attempts, "attempt")}, last ${last}`,
        ),
      ),
      replay,
    );
  }

  async replay(letter) {
    const where = api.deliveryPath(letter.event_id, letter.endpoint_id);
    try {
      await api.post(`/dead-letters/${where}/replay`);
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    this.say("info", "Replayed: the delivery is queued again.");
    await this.showDeadLetters();

    // Follow it until it finishes, then show the outcome everywhere.
    let delivery = null;
    for (let i = 0; i < FOLLOW_TIMES; i += 1) {
      try {
        delivery = await api.get(`/deliveries/${where}`);
      } catch {
        break;
      }
      if (delivery.status !== "pending" && delivery.status !== "in_flight") break;
      await pause(FOLLOW_EVERY_MS);
    }
    if (delivery) {
      const name = DELIVERY_STATUS[delivery.status] || delivery.status;
      this.say(delivery.status === "succeeded" ? "ok" : "info", `Replayed: ${name}.`);
    }
    await this.refreshAll();
  }

  async replayAll() {
    try {
      const { replayed } = await api.post("/dead-letters/replay", {
        endpoint_id: this.endpoint.id,
      });
      this.say("info", `Replayed ${count(replayed, "dead letter")}.`);
    } catch (error) {
      this.say("error", error.message);
      return;
    }
    await pause(FOLLOW_EVERY_MS);
    await this.refreshAll();
  }

  async purge(total) {
    const confirmed = await confirmDialog({
      title: "Purge the dead-letter queue?",
      message: `${count(total, "dead letter")} will no longer be replayable.`,
      confirmLabel: "Purge",
      danger: true,
    });
    if (!confirmed) return;
    try {
      const { purged } = await api.remove("/dead-letters", {
        endpoint_id: this.endpoint.id,
      });
      this.say("ok", `Purged ${count(purged, "dead letter")}.`);
    } catch (error) {
      this.say("error", error.message);
    }
    await this.showDeadLetters();
  }

  // ---- Settings ---------------------------------------------------------------------

  showSettings() {
    const form = new SettingsForm(this.catalogue, this.endpoint, {
      withAuth: false,
      heading: "h3",
    });
    const outcome = h("div", { class: "outcome", "aria-live": "polite" });
    const save = h(
      "button",
      { type: "submit", class: "button button-primary" },
      "Save changes",
    );
    const element = h(
      "form",
      { class: "endpoint-form nested-sections", novalidate: true },
      form.sections.webhook,
      form.sections.events,
      form.sections.payload,
      form.sections.retry,
      h("div", { class: "actions" }, save),
      outcome,
    );
    element.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(save, async () => {
        form.clearErrors();
        outcome.replaceChildren();
        const changes = form.options();
        const url = form.url.value.trim();
        if (url !== this.endpoint.url) changes.url = url;
        try {
          this.endpoint = await api.patch(this.path, changes);
        } catch (error) {
          if (!form.showError(error))
            outcome.replaceChildren(notice("error", error.message));
          return;
        }
        this.showHead();
        outcome.replaceChildren(
          notice(
            "ok",
            changes.url
              ? "Saved. The URL changed: verify the endpoint and save the webhook " +
                  "again."
              : "Saved.",
          ),
        );
        this.showDeadLetters();
      });
    });
    this.settings.replaceChildren(element);
  }
}
