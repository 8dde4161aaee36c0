// Small DOM helpers shared by the dashboard modules: element builder, toasts, confirm dialog.
import { t } from "./i18n.js";

/**
 * Build an element. `attrs`: `class`, `text`, `dataset`, `on<event>` handlers, booleans
 * (true → present, false/null/undefined → absent) and plain attributes. Children may be nodes or strings.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Show a short message in the polite live region; errors stay longer. */
export function toast(message, { error = false, timeout } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const item = el("div", { class: error ? "toast error" : "toast", text: message });
  region.append(item);
  setTimeout(() => item.remove(), timeout ?? (error ? 8000 : 4000));
}

/** Ask for confirmation in the page's modal dialog; resolves true when confirmed. */
export function confirmAction(text, confirmLabel = t("Confirm")) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

/** Run `work` with `button` disabled and marked busy; always re-enables it. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
