// The connector grid: one card per installed connector — its status in words and a link to its
// settings page (/settings/integrations/<key>), where it is connected, set up and disconnected.
import { api, ApiError } from "./api.js";
import { settingsUrl, statusLabel } from "./connector.js";
import { t, tn } from "./i18n.js";
import { el } from "./ui.js";

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
      const active = this.connectors.filter((c) => c.status === "active").length;
      this.summary.textContent = tn("%(n)d of %(total)d connected", "%(n)d of %(total)d connected", active,
                                    { total: this.connectors.length });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      this.list.replaceChildren(el("li", { class: "notice error", text: t("Could not load the connectors: %(error)s", { error: error.message }) }));
    } finally {
      this.list.setAttribute("aria-busy", "false");
    }
  }

  card(c) {
    const status = c.status || "inactive";
    const titleId = `card-${c.key}-title`;
    let note = null;
    if (status === "not_configured") {
      note = el("p", { class: "notice", dataset: { role: "not-configured" }, text: t("Not available yet: ask your administrator.") });
    } else if (status === "needs_reauth") {
      note = el("p", { class: "notice", text: t("Reconnection needed.") });
    } else if (c.last_error) {
      note = el("p", { class: "notice error", dataset: { role: "last-error" }, text: c.last_error });
    }
    const action = c.connected ? t("Manage") : status === "not_configured" ? t("Details") : t("Set up");
    return el("li", { class: "card", dataset: { key: c.key, status }, "aria-labelledby": titleId },
      el("div", { class: "card-head" },
        iconOf(c),
        el("div", { class: "card-title" }, el("h3", { id: titleId, text: c.name || c.key })),
        el("span", { class: `pill pill-${status}`, dataset: { role: "status" }, text: statusLabel(status) })),
      c.description ? el("p", { class: "card-desc", text: c.description }) : null,
      c.connected && c.account
        ? el("p", { class: "account" }, t("Account:"), " ", el("strong", { dataset: { role: "account" }, text: c.account }))
        : null,
      note,
      el("div", { class: "card-actions" },
        el("a", { class: c.connected || status === "not_configured" ? "btn btn-ghost" : "btn btn-primary",
                  href: settingsUrl(c.key), dataset: { role: "settings-link" },
                  "aria-label": t("%(action)s %(name)s", { action, name: c.name }), text: action })));
  }

  highlight(key) {
    const card = this.list.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!card) return;
    card.classList.add("highlight");
    card.scrollIntoView({ block: "center" });
    setTimeout(() => card.classList.remove("highlight"), 4000);
  }
}

function iconOf(c) {
  const src = typeof c.icon === "string" && /^(\/|https:\/\/)/.test(c.icon) ? c.icon : "/static/icons/generic.svg";
  const img = el("img", { class: "card-icon", src, alt: "", width: 44, height: 44 });
  img.addEventListener("error", () => { img.src = "/static/icons/generic.svg"; }, { once: true });
  return img;
}
