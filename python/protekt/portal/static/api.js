// The portal's REST API (docs/portal-api.md), seen from the browser: the session
// cookie, and the CSRF token kept in memory only and sent on every change.

const BASE = "api/v1";

// The longest any request may take: Verify endpoint waits up to the endpoint's
// timeout, Send test event up to ten seconds.
const REQUEST_TIMEOUT_MS = 45_000;

const CHANGES = new Set(["POST", "PATCH", "PUT", "DELETE"]);

let csrfToken = null;
let onSignedOut = () => {};

/** An error answer: `type`, `message` and, for validation errors, `field`. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.type = error.type || "http";
    this.field = error.field || null;
  }
}

/** Calls `handler` whenever the server says the session is gone. */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

function urlOf(path, query) {
  const url = new URL(BASE + path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") {
      url.searchParams.set(name, String(value));
    }
  }
  return url;
}

async function parse(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return {
      error: { type: "http", message: `The server answered ${response.status}.` },
    };
  }
}

/** Sends one request and returns its JSON answer; throws ApiError otherwise. */
export async function request(method, path, { body, query } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (CHANGES.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(urlOf(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch (error) {
    const message =
      error.name === "AbortError"
        ? "The server did not answer in time."
        : "The server could not be reached.";
    throw new ApiError(0, { type: "network", message });
  } finally {
    clearTimeout(timer);
  }

  const answer = await parse(response);
  if (response.ok) return answer;
  const error = new ApiError(response.status, answer?.error || {});
  if (response.status === 401 && path !== "/session") {
    csrfToken = null;
    onSignedOut();
  }
  throw error;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, query) => request("POST", path, { body, query });
export const patch = (path, body) => request("PATCH", path, { body });
export const remove = (path, query) => request("DELETE", path, { query });

// ---- the session ------------------------------------------------------------------

/** Signs in with the admin API key; throws ApiError (401) for a wrong key. */
export async function signIn(apiKey) {
  const answer = await request("POST", "/session", { body: { api_key: apiKey } });
  csrfToken = answer.csrf_token;
}

/** After a reload: true when the browser still holds a session. */
export async function resumeSession() {
  try {
    const answer = await request("GET", "/session");
    csrfToken = answer.csrf_token;
    return true;
  } catch (error) {
    if (error.status === 401) return false;
    throw error;
  }
}

export async function signOut() {
  try {
    await request("DELETE", "/session");
  } finally {
    csrfToken = null;
  }
}

export function signedIn() {
  return csrfToken !== null;
}

// ---- the catalogue, asked for once --------------------------------------------------

let catalogue = null;

export async function getCatalogue() {
  if (!catalogue) catalogue = await get("/catalogue");
  return catalogue;
}

export const endpointPath = (id) => `/endpoints/${encodeURIComponent(id)}`;

/** The path of one event's delivery to one endpoint, under /deliveries or
 * /dead-letters. */
export const deliveryPath = (eventId, endpointId) =>
  `${encodeURIComponent(eventId)}/${encodeURIComponent(endpointId)}`;
