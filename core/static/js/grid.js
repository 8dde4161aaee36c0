// The connector grid: one card per installed connector, with connect / configure / settings / disconnect.
import { api, ApiError } from "./api.js";
import { fieldControl, controlValue, readFields, showFieldErrors } from "./forms.js";
import { busy, confirmAction, el, toast } from "./ui.js";

const STATUS_LABELS = {
  active: "Active",
  inactive: "Inactive",
  needs_reauth: "Needs re-auth",
  not_configured: "Not configured",
  error: "Error",
};
const KIND_LABELS = { oauth2: "OAuth", config: "API key / config" };
const GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/";

/**
 * Per-connector extras beyond the generic card: options for a settings field, and extra buttons.
 * Keyed by connector key; each entry is optional.
 */
const EXTRAS = {
  google_calendar: {
    async options(fieldName, current) {
      if (fieldName !== "calendar_id") return null;
      const calendars = await api("/api/v1/connectors/google_calendar/calendars");
      return (Array.isArray(calendars) ? calendars : []).map((c) => ({
        // The setting may say "primary" rather than the primary calendar's id: show it selected.
        value: c.primary && current === "primary" ? "primary" : c.id,
        label: c.primary ? `${c.summary || c.id} (primary)` : c.summary || c.id,
      }));
    },
    buttons: [{
      label: "Sync now",
      focus: "sync-now",
      async run() {
        const result = await api("/api/v1/connectors/google_calendar/sync-now", { method: "POST" });
        const stale = result && typeof result.stale_links === "number" ? result.stale_links : null;
        return stale === null ? "Sync started." : `Sync started: ${stale} appointment${stale === 1 ? "" : "s"} to update.`;
      },
    }],
  },
};

/** The connector grid bound to a `<ul>`; call `load()` to (re)fetch and render. */
export class ConnectorGrid {
  constructor(list, summary) {
    this.list = list;
    this.summary = summary;
    this.connectors = [];
  }

  async load() {
    this.list.setAttribute("aria-busy", "true");
    try {
      this.connectors = await api("/api/v1/connectors");
      this.list.replaceChildren(...this.connectors.map((c) => this.card(c)));
      this.updateSummary();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      this.list.replaceChildren(el("li", { class: "notice error", text: `Could not load connectors: ${error.message}` }));
    } finally {
      this.list.setAttribute("aria-busy", "false");
    }
  }

  updateSummary() {
    const active = this.connectors.filter((c) => c.status === "active").length;
    this.summary.textContent = `${active} of ${this.connectors.length} connected`;
  }

  /** Replace one card with fresh data, keeping keyboard focus on the same control. */
  replace(connector) {
    const index = this.connectors.findIndex((c) => c.key === connector.key);
    if (index >= 0) this.connectors[index] = connector;
    const old = this.list.querySelector(`[data-key="${CSS.escape(connector.key)}"]`);
    const focusKey = old && old.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    const fresh = this.card(connector);
    if (old) old.replaceWith(fresh);
    else this.list.append(fresh);
    if (focusKey) {
      const target = fresh.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`) || fresh.querySelector("h3");
      target.focus();
    }
    this.updateSummary();
    return fresh;
  }

  highlight(key) {
    const card = this.list.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!card) return;
    card.classList.add("highlight");
    card.scrollIntoView({ block: "center" });
    setTimeout(() => card.classList.remove("highlight"), 4000);
  }

  card(c) {
    const status = c.status || "inactive";
    const titleId = `card-${c.key}-title`;
    const card = el("li", { class: "card", dataset: { key: c.key, status }, "aria-labelledby": titleId },
      el("div", { class: "card-head" },
        iconOf(c),
        el("div", { class: "card-title" },
          el("h3", { id: titleId, tabindex: "-1", text: c.name || c.key }),
          el("div", { class: "badges" }, el("span", { class: "badge", text: KIND_LABELS[c.kind] || c.kind }))),
        el("span", { class: `pill pill-${status}`, dataset: { role: "status" }, text: STATUS_LABELS[status] || status })),
      c.description ? el("p", { class: "card-desc", text: c.description }) : null,
      c.account ? el("p", { class: "account" }, "Connected as ", el("strong", { dataset: { role: "account" }, text: c.account })) : null,
      this.notices(c, status),
      this.details(c),
    );
    if (c.kind === "config") card.append(this.configForm(c, status));
    if (c.connected && (c.settings_fields || []).length) card.append(this.settingsSection(c));
    card.append(...this.actions(c, status));
    return card;
  }

  notices(c, status) {
    const notes = [];
    if (status === "not_configured") {
      const vars = (c.missing_variables || []).map((v) => el("code", { text: v }));
      notes.push(el("p", { class: "notice", dataset: { role: "not-configured" } },
        "Not set up on this server yet. The operator must set ",
        ...vars.flatMap((v, i) => (i ? [i === vars.length - 1 ? " and " : ", ", v] : [v])), "."));
    }
    if (status === "needs_reauth") {
      notes.push(el("p", { class: "notice", text: `${c.name} no longer accepts the saved access. Reconnect to resume.` }));
    }
    if (c.last_error && status !== "needs_reauth") {
      notes.push(el("p", { class: "notice error", dataset: { role: "last-error" }, text: c.last_error }));
    }
    return notes;
  }

  details(c) {
    const parts = [];
    const scopes = c.scopes || [];
    if (scopes.length) {
      parts.push(el("details", {},
        el("summary", { text: `Permissions (${scopes.length})` }),
        el("ul", { class: "scope-list" }, scopes.map((s) => el("li", { title: s, text: s.replace(GOOGLE_SCOPE_PREFIX, "") })))));
    }
    const actions = c.actions || [];
    if (actions.length) {
      parts.push(el("details", {},
        el("summary", { text: `What Donna can do (${actions.length})` }),
        el("ul", { class: "scope-list" }, actions.map((a) => el("li", {}, el("code", { text: a.name }), " — ", a.description || "")))));
    }
    return parts;
  }

  configForm(c, status) {
    const fields = c.fields || [];
    const stored = c.config || {};
    const form = el("form", { class: "form", novalidate: true, dataset: { role: "config-form" } });
    for (const field of fields) {
      form.append(fieldControl(field, { idPrefix: `cfg-${c.key}`, value: stored[field.name],
                                        secretSet: Boolean(stored[field.name]) }));
    }
    const error = el("p", { class: "form-error", role: "alert", dataset: { role: "config-error" } });
    const submit = el("button", { type: "submit", class: "btn btn-primary", dataset: { focus: "config-submit" },
                                  text: c.connected ? "Save and reconnect" : "Connect" });
    form.append(error, el("div", {}, submit));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      error.textContent = "";
      showFieldErrors(form);
      busy(submit, async () => {
        try {
          const fresh = await api(`/api/v1/connectors/${encodeURIComponent(c.key)}/config`,
                                  { method: "POST", body: readFields(form, fields) });
          this.replace(fresh);
          toast(`${c.name} connected${fresh.account ? ` as ${fresh.account}` : ""}.`);
        } catch (err) {
          error.textContent = err.message;
          if (err instanceof ApiError) showFieldErrors(form, err.fieldErrors);
        }
      });
    });
    return el("details", { class: "card-section setup" },
      el("summary", { dataset: { focus: "setup" }, text: c.connected ? "Change connection details" : `Set up ${c.name}` }), form);
  }

  settingsSection(c) {
    const extras = EXTRAS[c.key] || {};
    const section = el("div", { class: "card-section", dataset: { role: "settings" } });
    const note = el("p", { class: "inline-status", "aria-live": "polite" });
    for (const field of c.settings_fields) {
      const holder = el("div");
      section.append(holder);
      const render = (options) => {
        const wrapper = fieldControl(field, { idPrefix: `set-${c.key}`, value: (c.settings || {})[field.name], options,
                                              markOptional: false });
        const control = wrapper.querySelector("input, select");
        control.addEventListener("change", () => this.saveSetting(c, field, control, note));
        holder.replaceChildren(wrapper);
      };
      render(null);
      if (extras.options) {
        extras.options(field.name, (c.settings || {})[field.name]).then((options) => options && render(options)).catch((err) => {
          note.classList.add("error");
          note.textContent = `Could not list choices for ${field.label}: ${err.message}`;
        });
      }
    }
    section.append(note);
    return section;
  }

  async saveSetting(c, field, control, note) {
    note.classList.remove("error");
    note.textContent = "Saving…";
    const value = controlValue(control, field);
    try {
      const fresh = await api(`/api/v1/connectors/${encodeURIComponent(c.key)}/settings`,
                              { method: "PATCH", body: { [field.name]: value === undefined ? null : value } });
      Object.assign(c, fresh);
      note.textContent = `Saved: ${field.label || field.name}.`;
    } catch (err) {
      note.classList.add("error");
      note.textContent = err instanceof ApiError ? err.fullMessage : err.message;
    }
  }

  actions(c, status) {
    const bar = el("div", { class: "card-actions" });
    const note = el("p", { class: "inline-status", "aria-live": "polite" });
    if (c.kind === "oauth2") {
      const label = c.connected || status === "needs_reauth" ? "Reconnect" : "Connect";
      const primary = !c.connected || status === "needs_reauth";
      bar.append(el("button", {
        type: "button", class: primary ? "btn btn-primary" : "btn btn-ghost", dataset: { focus: "connect", action: "connect" },
        disabled: status === "not_configured",
        "aria-label": `${label} ${c.name}`, text: label,
        onclick: (event) => busy(event.currentTarget, () => this.connect(c, note)),
      }));
    }
    if (c.connected) {
      for (const extra of (EXTRAS[c.key] || {}).buttons || []) {
        bar.append(el("button", {
          type: "button", class: "btn btn-ghost", dataset: { focus: extra.focus }, text: extra.label,
          onclick: (event) => busy(event.currentTarget, async () => {
            note.classList.remove("error");
            try {
              note.textContent = await extra.run();
            } catch (err) {
              note.classList.add("error");
              note.textContent = err.message;
            }
          }),
        }));
      }
    }
    if (c.connected || status === "needs_reauth") {
      bar.append(el("span", { class: "spacer" }), el("button", {
        type: "button", class: "btn btn-danger", dataset: { focus: "disconnect", action: "disconnect" },
        "aria-label": `Disconnect ${c.name}`, text: "Disconnect",
        onclick: (event) => busy(event.currentTarget, () => this.disconnect(c, note)),
      }));
    }
    return [bar, note];
  }

  async connect(c, note) {
    note.classList.remove("error");
    try {
      // Asking for JSON sets the browser-binding cookie on this same-origin answer and lets us
      // show errors here; the browser then goes to the provider's consent page.
      const { authorization_url: url } = await api(`/api/v1/connectors/${encodeURIComponent(c.key)}/redirect`);
      note.textContent = `Opening ${c.name}…`;
      window.location.assign(url);
    } catch (err) {
      note.classList.add("error");
      note.textContent = err.message;
    }
  }

  async disconnect(c, note) {
    const ok = await confirmAction(`Disconnect ${c.name}? Its saved credentials are deleted and, where the provider allows it, access is revoked.`, "Disconnect");
    if (!ok) return;
    try {
      const result = await api(`/api/v1/connectors/${encodeURIComponent(c.key)}/revoke`, { method: "POST" });
      const fresh = this.replace(result.connector);
      fresh.querySelector("h3").focus();
      toast(`${c.name} disconnected.`);
    } catch (err) {
      note.classList.add("error");
      note.textContent = err.message;
    }
  }
}

function iconOf(c) {
  const src = typeof c.icon === "string" && /^(\/|https:\/\/)/.test(c.icon) ? c.icon : "/static/icons/generic.svg";
  const img = el("img", { class: "card-icon", src, alt: "", width: 44, height: 44 });
  img.addEventListener("error", () => { img.src = "/static/icons/generic.svg"; }, { once: true });
  return img;
}
