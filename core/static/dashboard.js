// Dashboard entry point: sign-in (development), then the connector grid, appointments and the voice orb.
import { api, ApiError } from "./js/api.js";
import { AppointmentsPanel } from "./js/appointments.js";
import { ConnectorGrid } from "./js/grid.js";
import { t } from "./js/i18n.js";
import { setUpIdentity } from "./js/identity.js";
import { mountOrb } from "./orb.js";

const $ = (id) => document.getElementById(id);
const root = $("dashboard");
const devSignin = root.dataset.devSignin === "true";
let views = null;

function showIdentity(user, org) {
  $("identity-user").textContent = user;
  $("identity-org").textContent = org;
  $("identity-avatar").textContent = user.slice(0, 1).toUpperCase();
  $("identity").hidden = false;
}

function showSignin(message) {
  $("app").hidden = true;
  $("identity").hidden = true;
  $("orb-dock").hidden = true;
  $("signin").hidden = false;
  if (message && $("signin-error")) $("signin-error").textContent = message;
  const first = $("signin-user");
  if (first) first.focus();
}

async function startApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("orb-dock").hidden = false;
  if (!views) {
    views = {
      grid: new ConnectorGrid($("grid"), $("grid-summary")),
      appointments: new AppointmentsPanel($("appointments")),
    };
    mountOrb({ button: $("orb"), status: $("orb-status"), dock: $("orb-dock"), label: $("orb-label"),
               transcript: $("orb-transcript") });
  }
  await views.grid.load();
  // Appointments go to the connector that syncs a calendar: its state explains a change still waiting.
  views.appointments.setCalendars(views.grid.connectors.filter((c) => (c.settings_fields || []).some((f) => f.name === "sync_enabled")));
  await views.appointments.load();
}

function setUpSignin() {
  const form = $("signin-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = form.elements.user.value.trim();
    const org = form.elements.org.value.trim();
    const error = $("signin-error");
    if (!user || !org) {
      error.textContent = t("Enter a user id and an organization.");
      (user ? form.elements.org : form.elements.user).focus();
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const who = await api("/dev/session", { method: "POST", body: { user, org } });
      error.textContent = "";
      // The page is written in the language of whoever signed in: load it again as them.
      if (who.locale && who.locale !== document.documentElement.lang) {
        window.location.reload();
        return;
      }
      showIdentity(who.user, who.org);
      await startApp();
      $("connectors-title").focus();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err.message);
    } finally {
      submit.disabled = false;
    }
  });
}

window.addEventListener("auth:required", () => {
  showSignin(devSignin ? t("Your session ended. Sign in again.") : null);
});

setUpSignin();
setUpIdentity();
if (root.dataset.user) {
  showIdentity(root.dataset.user, root.dataset.org);
  startApp();
} else {
  showSignin();
}
