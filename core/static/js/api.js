// JSON API client: same-origin cookie session, one error type carrying the platform's error shape.
import { locale, t } from "./i18n.js";

/** An API answer with a status >= 400; `message` is ready to show, `fieldErrors` maps field → messages. */
export class ApiError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body && typeof body === "object" ? body : {};
  }

  get fieldErrors() {
    const errors = this.body.errors || {};
    const json = errors.json;
    // A connector's refusal that names one field (`errors.field`, e.g. a wrong password): its message goes there.
    if (!json && typeof errors.field === "string" && errors.field) return { [errors.field]: [this.message] };
    if (!json || typeof json !== "object" || Array.isArray(json)) return {};
    const out = {};
    for (const [name, value] of Object.entries(json)) {
      out[name] = Array.isArray(value) ? value.map(String) : [String(value)];
    }
    return out;
  }

  /** The message plus every field error, for places without per-field slots. */
  get fullMessage() {
    const details = Object.entries(this.fieldErrors).map(([name, msgs]) => `${name}: ${msgs.join(" ")}`);
    return [this.message, ...details].join(" ");
  }
}

function messageOf(status, body) {
  if (body && typeof body === "object" && typeof body.message === "string" && body.message) return body.message;
  if (status === 0) return t("The server could not be reached. Check your connection and try again.");
  return t("The server answered %(status)s.", { status });
}

/**
 * Call the API. `body` is sent as JSON. Resolves with the parsed JSON (or null), rejects with ApiError.
 * A 401 also fires `auth:required` on window so the page can ask the user to sign in again.
 */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", "Accept-Language": locale, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: response.ok ? text : t("The server answered %(status)s.", { status: response.status }) };
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("auth:required", { detail: error.message }));
    throw error;
  }
  return data;
}

/** The items of a list answer, whether it is a bare list or `{items: [...]}` (or `{data: [...]}`). */
export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  if (data && Array.isArray(data.data)) return data.data;
  return [];
}
