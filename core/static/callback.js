// The OAuth landing page: the query string only says where to look; the connection's real state
// comes from the API, and only then does the page say "connected" and go back.
import { api } from "./js/api.js";
import { t } from "./js/i18n.js";

const RETURN_AFTER_MS = 2000;
const section = document.getElementById("callback");
const title = document.getElementById("callback-title");
const text = document.getElementById("callback-text");
const back = document.getElementById("callback-back");

async function check() {
  let c = null;
  try {
    c = await api(`/api/v1/connectors/${encodeURIComponent(section.dataset.connector)}`);
  } catch (err) {
    text.textContent = err.message;
  }
  if (c && c.connected) {
    section.dataset.status = "success";
    title.textContent = t("%(name)s is connected", { name: c.name });
    text.textContent = c.account ? t("Connected as %(account)s. Taking you back…", { account: c.account })
      : t("All set. Taking you back…");
    setTimeout(() => window.location.assign(back.getAttribute("href")), RETURN_AFTER_MS);
  } else {
    section.dataset.status = "error";
    title.textContent = t("%(name)s was not connected", { name: section.dataset.name });
    if (c) text.textContent = t("The connection was not completed. Try again from the settings page.");
  }
  title.focus();
}

check();
