// Dashboard entry point: sign-in (development), then the connector grid, appointments and the voice orb.
import { api, ApiError } from "./js/api.js";
import { AppointmentsPanel } from "./js/appointments.js";
import { ConnectorGrid } from "./js/grid.js";
import { toast } from "./js/ui.js";
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
    mountOrb({ button: $("orb"), status: $("orb-status"), dock: $("orb-dock"), label: $("orb-label") });
  }
  await Promise.all([views.grid.load(), views.appointments.load()]);
  announceConnected(views.grid);
}

/** After the OAuth round trip the callback page sends us to `/?connected=<key>`: say so once. */
function announceConnected(grid) {
  const params = new URLSearchParams(window.location.search);
  const key = params.get("connected");
  if (!key) return;
  const connector = grid.connectors.find((c) => c.key === key);
  if (connector) {
    toast(`${connector.name} connected${connector.account ? ` as ${connector.account}` : ""}.`);
    grid.highlight(key);
  }
  params.delete("connected");
  const query = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (query ? `?${query}` : ""));
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
      error.textContent = "Enter a user id and an organization.";
      (user ? form.elements.org : form.elements.user).focus();
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const who = await api("/dev/session", { method: "POST", body: { user, org } });
      error.textContent = "";
      showIdentity(who.user, who.org);
      await startApp();
      $("connectors-title").focus();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.fullMessage : err.message;
    } finally {
      submit.disabled = false;
    }
  });
  const signout = $("signout");
  if (signout) {
    signout.addEventListener("click", async () => {
      await api("/dev/logout", { method: "POST" }).catch(() => null);
      window.location.assign("/");
    });
  }
}

window.addEventListener("auth:required", (event) => {
  showSignin(devSignin ? `Your session ended (${event.detail}). Sign in again.` : null);
});

setUpSignin();
if (root.dataset.user) {
  showIdentity(root.dataset.user, root.dataset.org);
  startApp();
} else {
  showSignin();
}
