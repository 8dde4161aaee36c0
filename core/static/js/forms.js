// Form controls generated from a connector's declared fields ({name, label, type, secret, required, default, choices,
// help, options_from}). A `list` field with options is a group of checkboxes.
import { t } from "./i18n.js";
import { el } from "./ui.js";

const INPUT_TYPES = { integer: "number", email: "email", url: "url" };

/**
 * One labelled control for `field`. `value` pre-fills it; a stored secret (`secretSet`) is never
 * shown: the input stays empty with a hint. `options` ([{value, label}]) turn a text input into a
 * select; `markOptional: false` drops the "(optional)" marker (settings are all optional).
 */
export function fieldControl(field, { idPrefix, value, secretSet = false, options = null, markOptional = true }) {
  const id = `${idPrefix}-${field.name}`;
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const described = [field.help ? helpId : null, errorId].filter(Boolean).join(" ");
  const current = value ?? field.default ?? null;
  const required = field.required && field.default == null && !(field.secret && secretSet);
  let control;

  if (field.type === "boolean") {
    control = el("input", { type: "checkbox", id, name: field.name, checked: Boolean(current),
                            "aria-describedby": described, dataset: { focus: field.name } });
    return el("div", { class: "field", dataset: { field: field.name } },
      el("label", { class: "check", for: id }, control, field.label || field.name),
      field.help ? el("p", { class: "help", id: helpId, text: field.help }) : null,
      el("p", { class: "field-error", id: errorId }));
  }
  if (field.type === "list") return listControl(field, { id, helpId, errorId, described, current, options });
  const choices = options || (field.type === "choice" ? (field.choices || []).map((c) => ({ value: c, label: c })) : null);
  if (choices) {
    control = el("select", { id, name: field.name, required, "aria-describedby": described, dataset: { focus: field.name } });
    if (!required && field.type !== "choice" && !choices.some((c) => c.value === current) && current != null) {
      choices.unshift({ value: String(current), label: String(current) || t("(not chosen)") });
    }
    for (const choice of choices) {
      control.append(el("option", { value: choice.value, selected: String(choice.value) === String(current) }, choice.label));
    }
  } else {
    const type = field.secret ? "password" : INPUT_TYPES[field.type] || "text";
    control = el("input", {
      type, id, name: field.name, required, "aria-describedby": described, dataset: { focus: field.name },
      value: field.secret ? null : current, min: field.type === "integer" ? 0 : null,
      autocomplete: field.secret ? "new-password" : "off", spellcheck: "false",
      placeholder: field.secret && secretSet ? t("Saved — type again to change") : null,
    });
  }
  return el("div", { class: "field", dataset: { field: field.name } },
    el("label", { for: id }, field.label || field.name,
       required || !markOptional ? null : el("span", { class: "optional", text: " " + t("(optional)") })),
    control,
    field.help ? el("p", { class: "help", id: helpId, text: field.help }) : null,
    el("p", { class: "field-error", id: errorId }));
}

/** A `list` field: one checkbox per option (values saved but no longer offered stay, ticked), else a text input. */
function listControl(field, { id, helpId, errorId, described, current, options }) {
  const values = Array.isArray(current) ? current.map(String) : String(current || "").split(",").filter(Boolean);
  const help = field.help ? el("p", { class: "help", id: helpId, text: field.help }) : null;
  const error = el("p", { class: "field-error", id: errorId });
  if (!options) {
    const control = el("input", { type: "text", id, name: field.name, value: values.join(", "), autocomplete: "off",
                                  spellcheck: "false", "aria-describedby": described, dataset: { focus: field.name } });
    return el("div", { class: "field", dataset: { field: field.name } },
      el("label", { for: id, text: field.label || field.name }), control, help, error);
  }
  const offered = [...options, ...values.filter((v) => !options.some((o) => String(o.value) === v)).map((v) => ({ value: v, label: v }))];
  const group = el("fieldset", { class: "check-list", id, name: field.name, "aria-describedby": described, dataset: { focus: field.name, list: "" } },
    el("legend", { text: field.label || field.name }),
    offered.map((option, index) => el("label", { class: "check", for: `${id}-${index}` },
      el("input", { type: "checkbox", id: `${id}-${index}`, value: option.value, checked: values.includes(String(option.value)) }),
      option.label)));
  return el("div", { class: "field", dataset: { field: field.name } }, group, help, error);
}

/** The value of one control, typed for the API; `undefined` means "leave out". */
export function controlValue(control, field) {
  if (field.type === "list") {
    if (control.tagName === "FIELDSET") return [...control.querySelectorAll("input:checked")].map((box) => box.value);
    return control.value.split(",").map((v) => v.trim()).filter(Boolean);
  }
  if (field.type === "boolean") return control.checked;
  const raw = control.value.trim();
  if (raw === "") return undefined;
  if (field.type === "integer") return Number(raw);
  return raw;
}

/** Every declared field's value in `form`; empty optional values are left out. */
export function readFields(form, fields) {
  const values = {};
  for (const field of fields) {
    const control = form.elements.namedItem(field.name);
    if (!control) continue;
    const value = controlValue(control, field);
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

/** Put each field's messages under its control (aria-invalid); clear the others. */
export function showFieldErrors(form, errors = {}) {
  for (const wrapper of form.querySelectorAll("[data-field]")) {
    const name = wrapper.dataset.field;
    const slot = wrapper.querySelector(".field-error");
    const control = form.elements.namedItem(name);
    const messages = errors[name];
    if (slot) slot.textContent = messages ? messages.join(" ") : "";
    if (control && control.setAttribute) {
      if (messages) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
  }
}
