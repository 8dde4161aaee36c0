// One connector's settings page (/settings/integrations/<key>): status in words, connect or set up,
// settings (choices listed by the connector's own route, `options_from`; a `list` setting is a
// group of checkboxes), permissions to add (incremental authorization), "Sync now", disconnect.
import { api, ApiError } from "./api.js";
import { fieldControl, controlValue, readFields, showFieldErrors } from "./forms.js";
import { t, tn } from "./i18n.js";
import { formatInstant } from "./time.js";
import { busy, confirmAction, el, toast } from "./ui.js";

const SYNC_POLL_MS = 1000;
const SYNC_MAX_POLLS = 30;

/** The status pill's words for each connection status. */
export function statusLabel(status) {
  return {
    active: t("Connected"), inactive: t("Not connected"), needs_reauth: t("Reconnection needed"),
    not_configured: t("Not available yet"), error: t("Error"),
  }[status] || status;
}

/** The provider's name as a person says it: "acme" → "Acme". */
export function providerName(c) {
  const provider = c.provider || c.name || c.key;
  return provider.charAt(0).toUpperCase() + provider.slice(1);
}

/** The address of connector `key`'s settings page. */
export function settingsUrl(key) {
  return `/settings/integrations/${encodeURIComponent(key.replaceAll("_", "-"))}`;
}

/** Whether `c` pushes appointments to a calendar (it reports pending changes and has a sync toggle). */
function syncs(c) {
  return typeof c.pending_changes === "number" && (c.settings_fields || []).some((f) => f.name === "sync_enabled");
}

/** Where the connector's sync stands, in a sentence. */
export function syncSentence(c) {
  if (!c.connected) return t("Waiting for %(name)s to be connected.", { name: c.name });
  if (!(c.settings || {}).sync_enabled) return t("Sync is switched off: appointments are not sent to the calendar.");
  const parts = [];
  if (c.pending_changes > 0) {
    parts.push(tn("%(n)d change is waiting to be sent.", "%(n)d changes are waiting to be sent.", c.pending_changes));
  } else {
    parts.push(t("Everything is up to date."));
  }
  if (c.last_sync) parts.push(t("Last change sent on %(when)s.", { when: formatInstant(c.last_sync) }));
  return parts.join(" ");
}

/**
 * The choices of a settings field whose choices live at the provider: the field names a route of its
 * connector (`options_from`) listing `[{id, summary, primary}]`; the primary one stands for the
 * field's default when that is the stored value.
 */
async function optionsOf(path, field, current) {
  const items = await api(`${path}/${field.options_from}`);
  return (Array.isArray(items) ? items : []).map((item) => ({
    value: item.primary && current === field.default ? field.default : item.id,
    label: item.primary ? t("%(name)s (main calendar)", { name: item.summary || item.id }) : item.summary || item.id,
  }));
}

/** The settings page of one connector, bound to its section of the page. */
export class ConnectorPage {
  constructor(root, key) {
    this.root = root;
    this.key = key;
    this.body = root.querySelector("#connector-body");
    this.pill = root.querySelector("#connector-status");
    this.c = null;
    this.syncing = false;
  }

  get path() {
    return `/api/v1/connectors/${encodeURIComponent(this.key)}`;
  }

  async load() {
    try {
      this.show(await api(this.path));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      this.body.replaceChildren(el("p", { class: "notice error", role: "alert", text: err.message }));
    } finally {
      this.body.setAttribute("aria-busy", "false");
    }
  }

  show(c) {
    this.c = c;
    const status = c.status || "inactive";
    this.root.dataset.status = status;
    this.pill.className = `pill pill-${status}`;
    this.pill.textContent = statusLabel(status);
    this.syncState = null;
    this.body.replaceChildren(...[
      this.summary(c, status),
      c.connected && (c.missing_scopes || []).length ? this.upgrade(c) : null,
      c.kind === "config" && status !== "not_configured" ? this.configForm(c) : null,
      c.connected && (c.settings_fields || []).length ? this.settingsForm(c) : null,
      syncs(c) ? this.syncPanel(c) : null,
      ...this.actions(c, status),
    ].filter(Boolean));
  }

  summary(c, status) {
    const lines = [];
    if (status === "not_configured") {
      lines.push(el("p", { class: "notice", dataset: { role: "not-configured" },
                           text: t("%(name)s is not available yet: ask your administrator.", { name: c.name }) }));
    } else if (status === "needs_reauth") {
      lines.push(el("p", { class: "notice", text: t("%(name)s no longer accepts the saved access. Reconnect to resume.", { name: c.name }) }));
    } else if (c.connected && c.account) {
      lines.push(el("p", { class: "account" }, t("Account:"), " ", el("strong", { dataset: { role: "account" }, text: c.account })));
    } else if (!c.connected) {
      lines.push(el("p", { class: "muted", text: t("Not connected yet.") }));
    }
    if (c.last_error && status !== "needs_reauth") {
      lines.push(el("p", { class: "notice error", dataset: { role: "last-error" }, text: c.last_error }));
    }
    return el("div", { class: "card-section", dataset: { role: "summary" } }, lines);
  }

  /** Permissions the connection lacks for some features: what to do, and a button asking only those. */
  upgrade(c) {
    const note = el("p", { class: "inline-status", "aria-live": "polite" });
    return el("div", { class: "card-section", dataset: { role: "upgrade" } },
      el("p", { class: "notice", dataset: { role: "upgrade-text" },
                text: c.availability_message || t("Reconnect %(name)s to enable every feature.", { name: c.name }) }),
      el("div", { class: "card-actions" }, el("button", {
        type: "button", class: "btn btn-primary", dataset: { action: "upgrade" },
        text: t("Allow access in %(provider)s", { provider: providerName(c) }),
        onclick: (event) => busy(event.currentTarget, () => this.connect(note, c.missing_scopes)),
      })), note);
  }

  configForm(c) {
    const fields = c.fields || [];
    const stored = c.config || {};
    const form = el("form", { class: "form", novalidate: true, dataset: { role: "config-form" },
                              "aria-label": t("Connection details") });
    for (const field of fields) {
      form.append(fieldControl(field, { idPrefix: `cfg-${c.key}`, value: stored[field.name],
                                        secretSet: Boolean(stored[field.name]) }));
    }
    const error = el("p", { class: "form-error", role: "alert", dataset: { role: "config-error" } });
    const submit = el("button", { type: "submit", class: "btn btn-primary",
                                  text: c.connected ? t("Save and reconnect") : t("Connect") });
    form.append(error, el("div", {}, submit));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      error.textContent = "";
      showFieldErrors(form);
      busy(submit, async () => {
        try {
          const fresh = await api(`${this.path}/config`, { method: "POST", body: readFields(form, fields) });
          this.show(fresh);
          toast(fresh.account ? t("%(name)s connected as %(account)s.", { name: c.name, account: fresh.account })
            : t("%(name)s connected.", { name: c.name }));
        } catch (err) {
          const fieldErrors = err instanceof ApiError ? err.fieldErrors : {};
          showFieldErrors(form, fieldErrors);
          const onFields = Object.keys(fieldErrors).some((name) => form.elements.namedItem(name));
          error.textContent = onFields ? t("Check the highlighted fields.") : err.message;
          const first = form.querySelector("[aria-invalid=true]");
          if (first) first.focus();
        }
      });
    });
    return el("section", { class: "card-section", "aria-labelledby": `cfg-${c.key}-title` },
      el("h2", { id: `cfg-${c.key}-title`, text: c.connected ? t("Connection details") : t("Set up %(name)s", { name: c.name }) }),
      form);
  }

  settingsForm(c) {
    const note = el("p", { class: "inline-status", "aria-live": "polite", dataset: { role: "settings-note" } });
    const form = el("form", { class: "form", novalidate: true, dataset: { role: "settings" },
                              onsubmit: (event) => event.preventDefault() });
    for (const field of c.settings_fields) {
      const holder = el("div");
      form.append(holder);
      const render = (choices) => {
        const wrapper = fieldControl(field, { idPrefix: `set-${c.key}`, value: (c.settings || {})[field.name],
                                              options: choices, markOptional: false });
        const control = wrapper.querySelector("fieldset, input, select");
        control.addEventListener("change", () => this.saveSetting(field, control, note));
        holder.replaceChildren(wrapper);
      };
      render(null);
      if (field.options_from) {
        optionsOf(this.path, field, (c.settings || {})[field.name]).then(render).catch((err) => {
          note.classList.add("error");
          note.textContent = t("Could not list the choices for %(label)s: %(error)s", { label: field.label, error: err.message });
        });
      }
    }
    form.append(note);
    return el("section", { class: "card-section", "aria-labelledby": `set-${c.key}-title` },
      el("h2", { id: `set-${c.key}-title`, text: t("Settings") }), form);
  }

  async saveSetting(field, control, note) {
    note.classList.remove("error");
    note.textContent = t("Saving…");
    const value = controlValue(control, field);
    try {
      const fresh = await api(`${this.path}/settings`, { method: "PATCH", body: { [field.name]: value ?? null } });
      this.c = fresh;
      note.textContent = t("Saved: %(label)s.", { label: field.label || field.name });
      this.updateSync();
    } catch (err) {
      note.classList.add("error");
      note.textContent = err.message;
    }
  }

  syncPanel(c) {
    this.syncState = el("p", { dataset: { role: "sync-state" }, "aria-live": "polite" });
    this.syncResult = el("p", { class: "inline-status", dataset: { role: "sync-result" }, role: "status" });
    this.syncProgress = el("progress", { dataset: { role: "sync-progress" }, hidden: true, "aria-label": t("Sync progress") });
    this.syncButton = el("button", {
      type: "button", class: "btn btn-ghost", dataset: { action: "sync-now" }, text: t("Sync now"),
      onclick: (event) => busy(event.currentTarget, () => this.syncNow()),
    });
    this.syncHint = el("p", { class: "help", id: `sync-hint-${c.key}` });
    const panel = el("section", { class: "card-section", "aria-labelledby": `sync-${c.key}-title` },
      el("h2", { id: `sync-${c.key}-title`, text: t("Synchronization") }),
      this.syncState, el("div", { class: "card-actions" }, this.syncButton, this.syncProgress), this.syncHint, this.syncResult);
    this.updateSync();
    return panel;
  }

  /** Refresh the sync panel's words and the "Sync now" button from `this.c`. */
  updateSync() {
    if (!this.syncState) return;
    const c = this.c;
    this.syncState.textContent = syncSentence(c);
    const enabled = c.connected && (c.settings || {}).sync_enabled;
    this.syncButton.disabled = !enabled || this.syncing;
    this.syncHint.textContent = enabled ? "" : t("Switch sync on above to send your appointments now.");
    if (!enabled) this.syncResult.textContent = "";
    if (this.syncHint.textContent) this.syncButton.setAttribute("aria-describedby", this.syncHint.id);
    else this.syncButton.removeAttribute("aria-describedby");
  }

  async syncNow() {
    this.syncResult.classList.remove("error");
    this.syncResult.textContent = t("Sending your appointments…");
    this.syncing = true;
    try {
      const answer = await api(`${this.path}/sync-now`, { method: "POST" });
      const total = typeof answer.stale_links === "number" ? answer.stale_links : 0;
      this.syncProgress.max = Math.max(total, 1);
      this.syncProgress.value = 0;
      this.syncProgress.hidden = total === 0;
      for (let polls = 0; polls < SYNC_MAX_POLLS; polls += 1) {
        this.c = await api(this.path);
        const waiting = this.c.pending_changes || 0;
        this.syncProgress.value = Math.max(total - waiting, 0);
        this.updateSync();
        if (!waiting) break;
        await new Promise((resolve) => setTimeout(resolve, SYNC_POLL_MS));
      }
      const left = this.c.pending_changes || 0;
      if (left) {
        this.syncResult.textContent = tn("Still sending: %(n)d change is waiting.", "Still sending: %(n)d changes are waiting.", left);
      } else {
        this.syncResult.textContent = total ? tn("Done: %(n)d appointment sent.", "Done: %(n)d appointments sent.", total)
          : t("Done: the calendar was already up to date.");
      }
    } catch (err) {
      this.syncResult.classList.add("error");
      this.syncResult.textContent = err.message;
    } finally {
      this.syncing = false;
      this.syncProgress.hidden = true;
      this.updateSync();
    }
  }

  actions(c, status) {
    const bar = el("div", { class: "card-actions" });
    const note = el("p", { class: "inline-status", "aria-live": "polite", dataset: { role: "action-note" } });
    if (c.kind === "oauth2" && status !== "not_configured") {
      const again = c.connected || status === "needs_reauth";
      bar.append(el("button", {
        type: "button", class: c.connected && status !== "needs_reauth" ? "btn btn-ghost" : "btn btn-primary",
        dataset: { action: "connect" },
        text: again ? t("Reconnect %(provider)s", { provider: providerName(c) }) : t("Connect %(provider)s", { provider: providerName(c) }),
        onclick: (event) => busy(event.currentTarget, () => this.connect(note)),
      }));
    }
    if (c.connected || status === "needs_reauth") {
      bar.append(el("span", { class: "spacer" }), el("button", {
        type: "button", class: "btn btn-danger", dataset: { action: "disconnect" }, text: t("Disconnect"),
        onclick: (event) => busy(event.currentTarget, () => this.disconnect(note)),
      }));
    }
    return [bar, note];
  }

  /** Start OAuth; `scopes` asks only for those, added to the existing connection. */
  async connect(note, scopes = null) {
    note.classList.remove("error");
    try {
      // Asking for JSON sets the browser-binding cookie on this same-origin answer and lets us show
      // errors here; the provider then sends the browser back through the callback page to this one.
      const query = new URLSearchParams({ return_to: window.location.pathname });
      if (scopes) query.set("scopes", scopes.join(" "));
      const { authorization_url: url } = await api(`${this.path}/redirect?${query}`);
      note.textContent = t("Opening %(provider)s…", { provider: providerName(this.c) });
      window.location.assign(url);
    } catch (err) {
      note.classList.add("error");
      note.textContent = err.message;
    }
  }

  async disconnect(note) {
    const c = this.c;
    const ok = await confirmAction(t("Disconnect %(name)s? Its saved access is deleted and, where the provider allows it, revoked.", { name: c.name }),
                                   t("Disconnect"));
    if (!ok) return;
    try {
      const result = await api(`${this.path}/revoke`, { method: "POST" });
      this.show(result.connector);
      this.root.querySelector("h1").focus();
      toast(t("%(name)s disconnected.", { name: c.name }));
    } catch (err) {
      note.classList.add("error");
      note.textContent = err.message;
    }
  }
}
