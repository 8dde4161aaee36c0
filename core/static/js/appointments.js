// The appointments panel: list, create, move and cancel, with each one's Google sync state.
import { api, ApiError, itemsOf } from "./api.js";
import { formatRange, isTimeZone, isoToZonedLocal, nextHourLocal, zonedToIso } from "./time.js";
import { busy, confirmAction, el, toast } from "./ui.js";

const BASE = "/api/v1/appointments";
const POLL_MS = 2000;
const MAX_POLLS = 15;
const PAGE_SIZE = 100;
const SYNC_LABELS = { synced: "Synced", pending: "Sync pending", failed: "Sync failed", deleted: "Removed from calendar" };

/** The appointments panel bound to its section of the page. */
export class AppointmentsPanel {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("#appointment-list");
    this.empty = root.querySelector("#appointments-empty");
    this.form = root.querySelector("#appointment-form");
    this.error = root.querySelector("#appointment-error");
    this.unavailable = root.querySelector("#appointments-unavailable");
    this.body = root.querySelector("#appointments-body");
    this.polls = 0;
    this.pollTimer = null;
    this.setUpForm();
    root.querySelector("#appointments-refresh").addEventListener("click", (event) => busy(event.currentTarget, () => this.load()));
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
        this.unavailable.textContent = "Appointments are not available on this server yet.";
        this.unavailable.hidden = false;
        this.body.hidden = true;
      } else if (!(err instanceof ApiError && err.status === 401)) {
        toast(`Could not load appointments: ${err.message}`, { error: true });
      }
      return;
    }
    this.unavailable.hidden = true;
    this.body.hidden = false;
    items.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    this.list.replaceChildren(...items.map((item) => this.item(item)));
    this.empty.hidden = items.length > 0;
    // Sync runs after the change is committed: look again while some are still pending.
    if (items.some((i) => i.sync_status === "pending") && this.polls < MAX_POLLS) {
      this.polls += 1;
      this.pollTimer = setTimeout(() => this.load(), POLL_MS);
    } else {
      this.polls = 0;
    }
  }

  readTimes(form, timeZone) {
    if (!isTimeZone(timeZone)) throw new Error(`"${timeZone}" is not a time zone; pick one like Europe/Paris.`);
    const start = form.elements.starts_at.value;
    const end = form.elements.ends_at.value;
    if (!start || !end) throw new Error("Pick a start and an end.");
    return { starts_at: zonedToIso(start, timeZone), ends_at: zonedToIso(end, timeZone) };
  }

  async create() {
    const f = this.form.elements;
    this.error.textContent = "";
    try {
      const timezone = f.timezone.value.trim();
      const body = { title: f.title.value.trim(), timezone, ...this.readTimes(this.form, timezone) };
      if (!body.title) throw new Error("Give the appointment a title.");
      if (f.location.value.trim()) body.location = f.location.value.trim();
      if (f.notes.value.trim()) body.notes = f.notes.value.trim();
      const created = await api(BASE, { method: "POST", body });
      f.title.value = "";
      f.notes.value = "";
      toast(`Created “${created && created.title ? created.title : body.title}”.`);
      this.polls = 0;
      await this.load();
    } catch (err) {
      this.error.textContent = err instanceof ApiError ? err.fullMessage : err.message;
    }
  }

  item(a) {
    const status = a.status || "scheduled";
    const sync = a.sync_status;
    const titleId = `appt-${a.id}-title`;
    const node = el("li", { class: "appointment", dataset: { id: a.id, status }, "aria-labelledby": titleId },
      el("div", { class: "appointment-top" },
        el("span", { class: "appointment-title", id: titleId, text: a.title || "(untitled)" }),
        el("span", { class: "appointment-when", text: formatRange(a.starts_at, a.ends_at, a.timezone) })),
      el("div", { class: "appointment-meta" },
        el("span", { class: "badge", text: status }),
        el("span", { class: `badge sync-${sync || "none"}`, dataset: { role: "sync-status" },
                     text: SYNC_LABELS[sync] || (sync ? sync : "Not synced") }),
        a.external_event_id ? el("span", {}, "Event ", el("code", { dataset: { role: "event-id" }, text: a.external_event_id })) : null,
        a.location ? el("span", { text: `· ${a.location}` }) : null),
      a.sync_error ? el("p", { class: "inline-status error", text: a.sync_error }) : null);
    if (status !== "cancelled" && a.can_edit !== false) {
      const slot = el("div");
      node.append(el("div", { class: "appointment-actions" },
        el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-expanded": "false",
                       "aria-label": `Move ${a.title}`, text: "Move",
                       onclick: (event) => this.toggleMove(event.currentTarget, slot, a) }),
        el("button", { type: "button", class: "btn btn-danger btn-small", "aria-label": `Cancel ${a.title}`, text: "Cancel",
                       onclick: (event) => busy(event.currentTarget, () => this.cancel(a)) })), slot);
    }
    return node;
  }

  toggleMove(button, slot, a) {
    if (slot.firstChild) {
      slot.replaceChildren();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const zone = isTimeZone(a.timezone) ? a.timezone : "UTC";
    const id = `move-${a.id}`;
    const error = el("p", { class: "form-error", role: "alert" });
    const form = el("form", { class: "move-form", "aria-label": `New time for ${a.title}` },
      el("div", { class: "field" }, el("label", { for: `${id}-start`, text: `Starts (${zone})` }),
        el("input", { id: `${id}-start`, name: "starts_at", type: "datetime-local", required: true, value: isoToZonedLocal(a.starts_at, zone) })),
      el("div", { class: "field" }, el("label", { for: `${id}-end`, text: "Ends" }),
        el("input", { id: `${id}-end`, name: "ends_at", type: "datetime-local", required: true, value: isoToZonedLocal(a.ends_at, zone) })),
      el("button", { type: "submit", class: "btn btn-primary btn-small", text: "Save" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button"), async () => {
        try {
          await api(`${BASE}/${encodeURIComponent(a.id)}`, { method: "PATCH", body: this.readTimes(form, zone) });
          toast(`Moved “${a.title}”.`);
          this.polls = 0;
          await this.load();
        } catch (err) {
          error.textContent = err instanceof ApiError ? err.fullMessage : err.message;
        }
      });
    });
    slot.replaceChildren(form, error);
    button.setAttribute("aria-expanded", "true");
    form.elements.starts_at.focus();
  }

  async cancel(a) {
    if (!(await confirmAction(`Cancel “${a.title}”? It is removed from the synced calendar.`, "Cancel appointment"))) return;
    try {
      await api(`${BASE}/${encodeURIComponent(a.id)}`, { method: "DELETE" });
      toast(`Cancelled “${a.title}”.`);
      this.polls = 0;
      await this.load();
    } catch (err) {
      toast(err instanceof ApiError ? err.fullMessage : err.message, { error: true });
    }
  }
}
