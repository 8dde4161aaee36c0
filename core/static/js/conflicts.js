// When the owner is busy: the 409 `conflict` in words on the form, the next free slots (from
// GET /api/v1/availability) as buttons that fill the form, and "book anyway". The server sends
// busy instants only, never what makes someone busy, so nothing private can be shown here.
import { api, ApiError } from "./api.js";
import { t } from "./i18n.js";
import { formatRange, isoToZonedLocal } from "./time.js";
import { busy, el } from "./ui.js";

/** How many free slots are offered. */
const SLOTS = 3;
const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Whether `err` is the API's 409 `conflict` (the owner is busy then). */
export function isConflict(err) {
  return err instanceof ApiError && err.status === 409 && (err.body.errors || {}).reason === "conflict";
}

/** The availability question for the week from the requested start (or from now, if it is past). */
export function availabilityQuery(body, owner) {
  const start = Math.max(Date.parse(body.starts_at), Date.now());
  const minutes = Math.round((Date.parse(body.ends_at) - Date.parse(body.starts_at)) / 60000);
  const params = new URLSearchParams({
    from: new Date(start).toISOString(), to: new Date(start + WEEK_MS).toISOString(),
    duration: String(Math.min(Math.max(minutes, 5), 480)), timezone: body.timezone, user: owner || "me",
  });
  return `/api/v1/availability?${params}`;
}

/**
 * Show the conflict `err` of `body` in `holder` (inside `form`), in the appointment's time zone.
 * A slot button fills the form's start and end; "book anyway" calls `resend(body)` with
 * `allow_conflict: true`.
 */
export async function showConflict(holder, form, body, err, { owner = null, resend }) {
  const zone = body.timezone;
  const times = ((err.body.errors || {}).busy || []).map((b) => formatRange(b.start, b.end, zone));
  const note = el("p", { class: "inline-status", dataset: { role: "slots-note" }, text: t("Looking for the next free slots…") });
  const slots = el("div", { class: "slot-list", dataset: { role: "free-slots" } });
  const anyway = el("button", { type: "button", class: "btn btn-ghost btn-small", dataset: { action: "book-anyway" },
                                text: t("Book anyway") });
  anyway.addEventListener("click", () => busy(anyway, () => resend({ ...body, allow_conflict: true })));
  holder.replaceChildren(el("div", { class: "conflict", dataset: { role: "conflict" } },
    el("p", { class: "conflict-text", role: "alert", dataset: { role: "conflict-text" },
              text: t("You are busy at that time: %(times)s.", { times: times.join(" ; ") }) }),
    note, slots, el("div", { class: "card-actions" }, anyway)));

  let answer;
  try {
    answer = await api(availabilityQuery(body, owner));
  } catch (failure) {
    note.textContent = t("The free slots could not be found: %(error)s", { error: failure.message });
    return;
  }
  if (!holder.isConnected) return;
  const free = (answer.free || []).slice(0, SLOTS);
  const notices = (answer.users || []).flatMap((u) => u.notices || []).map((n) => n.message).filter(Boolean);
  note.textContent = [free.length ? t("Next free slots:") : t("No free slot in the following week."), ...notices].join(" ");
  slots.replaceChildren(...free.map((slot) => el("button", {
    type: "button", class: "btn btn-ghost btn-small", dataset: { role: "slot", start: slot.start },
    text: formatRange(slot.start, slot.end, zone),
    onclick: () => {
      form.elements.starts_at.value = isoToZonedLocal(slot.start, zone);
      form.elements.ends_at.value = isoToZonedLocal(slot.end, zone);
      holder.replaceChildren(el("p", { class: "inline-status", dataset: { role: "slot-chosen" },
        text: t("Slot chosen: %(when)s. Save to book it.", { when: formatRange(slot.start, slot.end, zone) }) }));
      form.querySelector("button[type=submit]").focus();
    },
  })));
}
