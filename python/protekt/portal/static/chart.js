// The chart of successes and failures over time, drawn as inline SVG from
// GET /api/v1/endpoints/{id}/activity. It redraws itself when its width changes.

import { h, svg } from "./dom.js";

const HEIGHT = 200;
const MARGIN = { top: 12, right: 8, bottom: 28, left: 40 };
const MIN_LABEL_GAP = 56; // pixels between two time labels

/** The smallest of 1, 2, 5, 10, 20, 50... at or above `value`. */
function niceCeiling(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function label(start, spanHours) {
  const date = new Date(start);
  if (spanHours > 48) {
    return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function draw(buckets, width, spanHours) {
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const most = Math.max(0, ...buckets.map((b) => b.succeeded + b.failed));
  const top = niceCeiling(most);
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const band = plotWidth / Math.max(buckets.length, 1);
  const barWidth = Math.max(1, band * 0.7);

  // The value axis: gridlines at zero, half and the top.
  const ticks = top % 2 === 0 ? [0, top / 2, top] : [0, top];
  const grid = ticks.map((tick) =>
    svg(
      "g",
      { class: "tick" },
      svg("line", {
        x1: MARGIN.left,
        x2: width - MARGIN.right,
        y1: y(tick),
        y2: y(tick),
      }),
      svg(
        "text",
        { x: MARGIN.left - 6, y: y(tick), dy: "0.32em", "text-anchor": "end" },
        tick,
      ),
    ),
  );

  // One stacked bar per bucket: successes below, failures above.
  const every = Math.max(1, Math.ceil(MIN_LABEL_GAP / band));
  const bars = buckets.map((bucket, index) => {
    const x = MARGIN.left + index * band + (band - barWidth) / 2;
    const group = svg("g", { class: "bucket" });
    if (bucket.succeeded > 0) {
      group.append(
        svg("rect", {
          class: "bar-ok",
          x,
          width: barWidth,
          y: y(bucket.succeeded),
          height: y(0) - y(bucket.succeeded),
        }),
      );
    }
    if (bucket.failed > 0) {
      const total = bucket.succeeded + bucket.failed;
      group.append(
        svg("rect", {
          class: "bar-bad",
          x,
          width: barWidth,
          y: y(total),
          height: y(bucket.succeeded) - y(total),
        }),
      );
    }
    if (index % every === 0) {
      group.append(
        svg(
          "text",
          {
            class: "time",
            x: x + barWidth / 2,
            y: HEIGHT - 8,
            "text-anchor": "middle",
          },
          label(bucket.start, spanHours),
        ),
      );
    }
    return group;
  });

  const succeeded = buckets.reduce((sum, b) => sum + b.succeeded, 0);
  const failed = buckets.reduce((sum, b) => sum + b.failed, 0);
  return svg(
    "svg",
    {
      class: "chart-svg",
      width,
      height: HEIGHT,
      viewBox: `0 0 ${width} ${HEIGHT}`,
      role: "img",
      "aria-label":
        `Deliveries over the last ${spanHours} hours: ${succeeded} succeeded, ` +
        `${failed} failed.`,
    },
    grid,
    svg("line", {
      class: "axis",
      x1: MARGIN.left,
      x2: width - MARGIN.right,
      y1: y(0),
      y2: y(0),
    }),
    bars,
  );
}

function table(buckets, spanHours) {
  return h(
    "table",
    { class: "chart-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["From", "Succeeded", "Failed"].map((n) => h("th", { scope: "col" }, n)),
      ),
    ),
    h(
      "tbody",
      {},
      buckets.map((bucket) =>
        h(
          "tr",
          {},
          h("td", {}, label(bucket.start, spanHours)),
          h("td", {}, String(bucket.succeeded)),
          h("td", {}, String(bucket.failed)),
        ),
      ),
    ),
  );
}

/**
 * A figure with the chart, its legend and the same numbers as a table. Returns the
 * figure and a function that stops it following its width.
 */
export function activityChart(buckets, spanHours) {
  const area = h("div", { class: "chart-area" });
  const succeeded = buckets.reduce((sum, b) => sum + b.succeeded, 0);
  const failed = buckets.reduce((sum, b) => sum + b.failed, 0);
  const figure = h(
    "figure",
    { class: "chart" },
    area,
    h(
      "figcaption",
      { class: "legend" },
      h(
        "span",
        {},
        h("span", { class: "swatch swatch-ok", "aria-hidden": "true" }),
        `Succeeded (${succeeded})`,
      ),
      h(
        "span",
        {},
        h("span", { class: "swatch swatch-bad", "aria-hidden": "true" }),
        `Failed (${failed})`,
      ),
    ),
    h(
      "details",
      { class: "chart-details" },
      h("summary", {}, "Show as a table"),
      table(buckets, spanHours),
    ),
  );

  let drawnWidth = 0;
  const redraw = () => {
    const width = Math.max(240, Math.floor(area.clientWidth || 600));
    if (width === drawnWidth) return;
    drawnWidth = width;
    area.replaceChildren(draw(buckets, width, spanHours));
  };
  const observer = new ResizeObserver(redraw);
  observer.observe(area);
  requestAnimationFrame(redraw);
  return { figure, stop: () => observer.disconnect() };
}
