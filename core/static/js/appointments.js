// The appointments panel: list, create, edit (every field), cancel, with each one's calendar sync
// state in words. The list is refreshed while a change is on its way (and now and then, to learn of
// changes made in the calendar itself), updating rows in place: a row being edited is never rebuilt
// under the person typing in it, and an unchanged row is left alone.
// A booking into busy time (409 `conflict`) is shown on its form with the next free slots
// (conflicts.js); an appointment changed in the external calendar offers "keep" or "restore".
import { api, ApiError, itemsOf } from "./api.js";
import { isConflict, showConflict } from "./conflicts.js";
import { providerName, settingsUrl } from "./connector.js";
import { showFieldErrors } from "./forms.js";
import { t } from "./i18n.js";
import { formatRange, isTimeZone, isoToZonedLocal, nextHourLocal, zonedToIso } from "./time.js";
import { busy, confirmAction, el, toast } from "./ui.js";

const BASE = "/api/v1/appointments";
const POLL_MS = 2000;
const MAX_POLLS = 15;
/** While a calendar syncs, the list is read again this often to learn of changes made in it. */
const SLOW_POLL_MS = 20000;
const PAGE_SIZE = 100;
const FIELDS = ["title", "starts_at", "ends_at", "timezone", "location", "notes"];

/** The appointments panel bound to its section of the page. */
export class AppointmentsPanel {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("#appointment-list");
    this.empty = root.querySelector("#appointments-empty");
    this.form = root.querySelector("#appointment-form");
    this.error = root.querySelector("#appointment-error");
    this.conflict = root.querySelector("#appointment-conflict");
    this.unavailable = root.querySelector("#appointments-unavailable");
    this.body = root.querySelector("#appointments-body");
    this.calendar = null;
    this.calendars = [];
    this.polls = 0;
    this.pollTimer = null;
    this.setUpForm();
    root.querySelector("#appointments-refresh").addEventListener("click", (event) => busy(event.currentTarget, () => this.load()));
  }

  /** The connectors that sync a calendar: the connected one is where appointments go. */
  setCalendars(connectors) {
    this.calendars = connectors.filter((c) => c.status !== "not_configured");
    this.calendar = this.calendars.find((c) => c.connected) || null;
  }

  get calendarReady() {
    const c = this.calendar;
    return Boolean(c && c.connected && (c.settings || {}).sync_enabled);
  }

  setUpForm() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const tz = this.form.elements.timezone;
    tz.value = zone;
    const list = this.root.querySelector("#timezones");
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [zone, "UTC"];
    list.replaceChildren(...zones.map((z) => el("option", { value: z })));
    this.form.elements.starts_at.value = nextHourLocal(zone);
    this.form.elements.ends_at.value = nextHourLocal(zone, 30);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(this.form.querySelector("button[type=submit]"), () => this.create());
    });
  }

  async load() {
    clearTimeout(this.pollTimer);
    let items;
    try {
      items = itemsOf(await api(`${BASE}?page_size=${PAGE_SIZE}`).catch((err) => {
        if (err instanceof ApiError && err.status === 422) return api(BASE); // no pagination on this server
        throw err;
      }));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) {
        this.unavailable.textContent = t("Appointments are not available on this server yet.");
        this.unavailable.hidden = false;
        this.body.hidden = true;
      } else if (!(err instanceof ApiError && err.status === 401)) {
        toast(t("Could not load the appointments: %(error)s", { error: err.message }), { error: true });
      }
      return;
    }
    this.unavailable.hidden = true;
    this.body.hidden = false;
    items.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    this.render(items);
    this.empty.hidden = items.length > 0;
    // Sync runs after the change is committed: look again while some are still on their way.
    const moving = items.some((i) => i.sync_status === "pending") && this.calendarReady;
    if (moving && this.polls < MAX_POLLS) {
      this.polls += 1;
      this.pollTimer = setTimeout(() => this.load(), POLL_MS);
    } else {
      this.polls = 0;
      if (this.calendarReady) this.pollTimer = setTimeout(() => this.quietLoad(), SLOW_POLL_MS);
    }
  }

  /** A background refresh: skipped (and tried later) while the page is hidden. */
  quietLoad() {
    if (document.hidden) {
      this.pollTimer = setTimeout(() => this.quietLoad(), SLOW_POLL_MS);
      return;
    }
    this.load();
  }

  /** Show `items` in order, reusing each row: a row being edited keeps its form and only updates its state. */
  render(items) {
    const rows = new Map([...this.list.children].map((node) => [node.dataset.id, node]));
    const editing = [...rows.values()].some((node) => node.querySelector("form"));
    const fresh = items.map((item) => {
      const old = rows.get(String(item.id));
      rows.delete(String(item.id));
      const signature = JSON.stringify(item);
      if (old && old.querySelector("form")) {
        old.querySelector("[data-role=meta]").replaceWith(this.meta(item));
        old.dataset.signature = signature;
        return old;
      }
      if (old && old.dataset.signature === signature) return old;
      const node = this.item(item);
      node.dataset.signature = signature;
      if (old) old.replaceWith(node);
      return node;
    });
    for (const gone of rows.values()) if (!gone.querySelector("form")) gone.remove();
    const same = fresh.length === this.list.children.length && fresh.every((node, i) => this.list.children[i] === node);
    if (!editing && !same) this.list.replaceChildren(...fresh); // unchanged rows keep their place (and the focus)
    else for (const node of fresh) if (!node.isConnected) this.list.append(node);
  }

  async create() {
    this.error.textContent = "";
    this.conflict.replaceChildren();
    showFieldErrors(this.form);
    let body;
    try {
      body = this.readForm(this.form);
    } catch (err) {
      this.showErrors(this.form, this.error, err);
      return;
    }
    await this.book(body);
  }

  /** POST `body`; a conflict is shown on the form with the next free slots and "book anyway". */
  async book(body) {
    const f = this.form.elements;
    try {
      await api(BASE, { method: "POST", body });
      this.conflict.replaceChildren();
      f.title.value = "";
      f.notes.value = "";
      f.location.value = "";
      toast(t("Created “%(title)s”.", { title: body.title }));
      this.polls = 0;
      await this.load();
    } catch (err) {
      if (isConflict(err)) {
        await showConflict(this.conflict, this.form, body, err, { resend: (forced) => this.book(forced) });
      } else {
        this.showErrors(this.form, this.error, err);
      }
    }
  }

  /** The API body from a form with the appointment fields; throws a field error the form can show. */
  readForm(form) {
    const f = form.elements;
    const timezone = f.timezone.value.trim();
    if (!isTimeZone(timezone)) {
      throw fieldError("timezone", t("“%(zone)s” is not a time zone; pick one such as Europe/Paris.", { zone: timezone }));
    }
    if (!f.starts_at.value) throw fieldError("starts_at", t("Pick a start."));
    if (!f.ends_at.value) throw fieldError("ends_at", t("Pick an end."));
    return {
      title: f.title.value.trim(), timezone,
      starts_at: zonedToIso(f.starts_at.value, timezone), ends_at: zonedToIso(f.ends_at.value, timezone),
      location: f.location.value.trim() || null, notes: f.notes.value.trim() || null,
    };
  }

  /** Each field's message under its field; the message above the button only says to look there. */
  showErrors(form, slot, err) {
    const fieldErrors = err instanceof ApiError ? err.fieldErrors : err.fields || {};
    showFieldErrors(form, fieldErrors);
    const onFields = Object.keys(fieldErrors).some((name) => form.elements.namedItem(name));
    slot.textContent = onFields ? t("Check the highlighted fields.") : err.message;
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }

  /** The sync state of `a` in words, with a link to where it can be fixed when it waits on the person. */
  syncState(a) {
    const c = this.calendar;
    const link = (target, text) => el("a", { href: settingsUrl(target.key), dataset: { role: "sync-link" }, text });
    if (a.status === "cancelled") {
      if (!a.synced_at && !a.external_event_id) return [t("Never sent to the calendar"), "none", null];
      if (a.sync_status === "deleted") return [t("Removed from the calendar"), "none", null];
    }
    if (a.sync_change) return [t("Changed in the calendar: your choice is needed"), "pending", null];
    if (a.sync_status === "synced") return [t("In the calendar"), "synced", null];
    if (a.sync_status === "failed") return [t("Could not be sent to the calendar"), "failed", null];
    if (!c) {
      const links = this.calendars.map((target) => link(target, t("Connect %(name)s", { name: target.name })));
      return [t("Waiting for a calendar to be connected"), "pending", links.length ? el("span", { class: "sync-links" }, links) : null];
    }
    if (!(c.settings || {}).sync_enabled) {
      return [t("Sync is switched off"), "pending", link(c, t("Turn sync on"))];
    }
    if (a.sync_status === "pending") return [t("Being sent to the calendar…"), "pending", null];
    return [t("Not in a calendar"), "none", null];
  }

  meta(a) {
    const [label, tone, link] = this.syncState(a);
    // Where the event opens, as its connector says (`external_url`), named after the sync target.
    const url = this.calendar && a.sync_status === "synced" ? a.external_url : null;
    return el("div", { class: "appointment-meta", dataset: { role: "meta" } },
      a.status === "cancelled" ? el("span", { class: "badge", text: t("Cancelled") }) : null,
      el("span", { class: `badge sync-${tone}`, dataset: { role: "sync-status" }, text: label }),
      link,
      url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", dataset: { role: "event-link" },
                      text: t("Open in %(name)s", { name: this.calendar.name }) }) : null,
      a.location ? el("span", { text: `· ${a.location}` }) : null,
      a.sync_change ? this.change(a) : a.sync_error ? el("p", { class: "inline-status error", text: a.sync_error }) : null);
  }

  /** What the owner changed in the calendar, in words, and the two ways to answer it. */
  change(a) {
    const c = a.sync_change;
    const calendar = this.calendar ? this.calendar.name : t("the calendar");
    const provider = this.calendar ? providerName(this.calendar) : t("the calendar");
    let words;
    if (c.change === "deleted") words = t("Deleted in %(calendar)s.", { calendar });
    else if (c.starts_at && c.ends_at) {
      words = t("Moved in %(calendar)s to %(when)s.", { calendar, when: formatRange(c.starts_at, c.ends_at, a.timezone) });
    } else words = t("Made an all-day event in %(calendar)s.", { calendar });
    const choose = (choice, done) => async (event) => busy(event.currentTarget, async () => {
      try {
        await api(c.choose, { method: "POST", body: { choice } });
        toast(done);
        this.polls = 0;
        await this.load();
      } catch (err) {
        toast(err.message, { error: true });
      }
    });
    return el("div", { class: "change-box", dataset: { role: "change" } },
      el("p", { class: "notice", dataset: { role: "change-text" }, text: words }),
      el("div", { class: "card-actions" },
        el("button", { type: "button", class: "btn btn-primary btn-small", dataset: { action: "keep-change" },
                       text: t("Keep %(provider)s's change", { provider }),
                       onclick: choose(c.keep, t("“%(title)s” now follows the calendar.", { title: a.title })) }),
        el("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { action: "restore" },
                       text: t("Restore"),
                       onclick: choose(c.restore, t("“%(title)s” is being put back in the calendar.", { title: a.title })) })));
  }

  item(a) {
    const status = a.status || "scheduled";
    const titleId = `appt-${a.id}-title`;
    const node = el("li", { class: "appointment", dataset: { id: a.id, status }, "aria-labelledby": titleId },
      el("div", { class: "appointment-top" },
        el("span", { class: "appointment-title", id: titleId, text: a.title || t("(untitled)") }),
        el("span", { class: "appointment-when", text: formatRange(a.starts_at, a.ends_at, a.timezone) })),
      this.meta(a),
      a.notes ? el("p", { class: "appointment-notes", text: a.notes }) : null);
    if (status !== "cancelled" && a.can_edit !== false) {
      const slot = el("div");
      node.append(el("div", { class: "appointment-actions" },
        el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-expanded": "false", dataset: { action: "edit" },
                       "aria-label": t("Edit “%(title)s”", { title: a.title }), text: t("Edit"),
                       onclick: (event) => this.toggleEdit(event.currentTarget, slot, a) }),
        el("button", { type: "button", class: "btn btn-danger btn-small", dataset: { action: "cancel" },
                       "aria-label": t("Cancel “%(title)s”", { title: a.title }), text: t("Cancel"),
                       onclick: (event) => busy(event.currentTarget, () => this.cancel(a)) })), slot);
    }
    return node;
  }

  toggleEdit(button, slot, a) {
    if (slot.firstChild) {
      slot.replaceChildren();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const zone = isTimeZone(a.timezone) ? a.timezone : "UTC";
    const id = `edit-${a.id}`;
    const field = (name, label, control) => el("div", { class: `field${name === "title" || name === "notes" ? " span-2" : ""}`, dataset: { field: name } },
      el("label", { for: `${id}-${name}`, text: label }), control, el("p", { class: "field-error", id: `${id}-${name}-error` }));
    const input = (name, attrs) => el("input", { id: `${id}-${name}`, name, "aria-describedby": `${id}-${name}-error`, ...attrs });
    const error = el("p", { class: "form-error span-2", role: "alert" });
    const conflict = el("div", { class: "span-2", dataset: { role: "conflict-slot" } });
    const form = el("form", { class: "form form-grid edit-form", novalidate: true, "aria-label": t("Edit “%(title)s”", { title: a.title }) },
      field("title", t("Title"), input("title", { required: true, maxlength: 500, value: a.title })),
      field("starts_at", t("Starts"), input("starts_at", { type: "datetime-local", required: true, value: isoToZonedLocal(a.starts_at, zone) })),
      field("ends_at", t("Ends"), input("ends_at", { type: "datetime-local", required: true, value: isoToZonedLocal(a.ends_at, zone) })),
      field("timezone", t("Time zone"), input("timezone", { list: "timezones", required: true, maxlength: 64, value: zone, autocomplete: "off" })),
      field("location", t("Location"), input("location", { maxlength: 500, value: a.location || "" })),
      field("notes", t("Notes"), el("textarea", { id: `${id}-notes`, name: "notes", rows: 2, maxlength: 8000,
                                                   "aria-describedby": `${id}-notes-error` }, a.notes || "")),
      error, conflict,
      el("div", { class: "span-2 dialog-actions" },
        el("button", { type: "button", class: "btn btn-ghost btn-small", text: t("Close"),
                       onclick: () => { slot.replaceChildren(); button.setAttribute("aria-expanded", "false"); button.focus(); } }),
        el("button", { type: "submit", class: "btn btn-primary btn-small", text: t("Save") })));
    const save = async (body) => {
      try {
        await api(`${BASE}/${encodeURIComponent(a.id)}`, { method: "PATCH", body });
        slot.replaceChildren();
        toast(t("Saved “%(title)s”.", { title: body.title }));
        this.polls = 0;
        await this.load();
      } catch (err) {
        if (isConflict(err)) await showConflict(conflict, form, body, err, { owner: a.owner, resend: save });
        else this.showErrors(form, error, err);
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button[type=submit]"), async () => {
        error.textContent = "";
        conflict.replaceChildren();
        showFieldErrors(form);
        let body;
        try {
          body = this.readForm(form);
        } catch (err) {
          this.showErrors(form, error, err);
          return;
        }
        await save(body);
      });
    });
    slot.replaceChildren(form);
    button.setAttribute("aria-expanded", "true");
    const title = form.elements.title;
    title.focus();
    title.setSelectionRange(title.value.length, title.value.length); // type on after the current title
  }

  async cancel(a) {
    if (!(await confirmAction(t("Cancel “%(title)s”? It is removed from the synced calendar.", { title: a.title }),
                              t("Cancel the appointment")))) return;
    try {
      await api(`${BASE}/${encodeURIComponent(a.id)}`, { method: "DELETE" });
      toast(t("Cancelled “%(title)s”.", { title: a.title }));
      this.polls = 0;
      await this.load();
    } catch (err) {
      toast(err.message, { error: true });
    }
  }
}

function fieldError(name, message) {
  const error = new Error(message);
  error.fields = { [name]: [message] };
  return error;
}
