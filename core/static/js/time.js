// Wall-clock times in an IANA time zone <-> ISO 8601 instants with an offset, and dates shown in
// the page's language (24-hour clock in French), using Intl only.
import { locale } from "./i18n.js";

/** Intl options for a clock in the page's language: 24-hour in French. */
const CLOCK = { hour: "2-digit", minute: "2-digit", ...(locale === "fr" ? { hourCycle: "h23" } : {}) };

function partsIn(ms, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
}

/** Minutes east of UTC in `timeZone` at instant `ms`. */
function offsetMinutes(ms, timeZone) {
  const p = partsIn(ms, timeZone);
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - ms) / 60000);
}

/** Whether `timeZone` is a time zone this browser knows. */
export function isTimeZone(timeZone) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return Boolean(timeZone);
  } catch {
    return false;
  }
}

/** `"2025-03-01T09:30"` (a datetime-local value) in `timeZone` → `"2025-03-01T09:30:00+01:00"`. */
export function zonedToIso(local, timeZone) {
  const [date, time] = local.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let offset = offsetMinutes(wall, timeZone);
  offset = offsetMinutes(wall - offset * 60000, timeZone);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date}T${pad(hour)}:${pad(minute)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An ISO instant → the datetime-local value of its wall-clock time in `timeZone`. */
export function isoToZonedLocal(iso, timeZone) {
  const p = partsIn(Date.parse(iso), timeZone);
  const pad = (n) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** "mar. 4 mars 2031, 09:30 – 10:00 (Europe/Paris)" for an appointment's start and end, in its zone. */
export function formatRange(startIso, endIso, timeZone) {
  const zone = isTimeZone(timeZone) ? timeZone : "UTC";
  const day = new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const clock = new Intl.DateTimeFormat(locale, { timeZone: zone, ...CLOCK });
  const start = new Date(startIso);
  const end = new Date(endIso);
  const sameDay = day.format(start) === day.format(end);
  const endText = sameDay ? clock.format(end) : `${day.format(end)}, ${clock.format(end)}`;
  return `${day.format(start)}, ${clock.format(start)} – ${endText} (${zone})`;
}

/** An instant as this browser's date and time, in the page's language: "4 mars 2031, 09:30". */
export function formatInstant(iso) {
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", year: "numeric", ...CLOCK }).format(new Date(iso));
}

/** The datetime-local value of the next full hour in `timeZone`, plus `addMinutes`. */
export function nextHourLocal(timeZone, addMinutes = 0) {
  const now = Date.now();
  const nextHour = Math.ceil((now + 60000) / 3600000) * 3600000 + addMinutes * 60000;
  return isoToZonedLocal(new Date(nextHour).toISOString(), timeZone);
}
