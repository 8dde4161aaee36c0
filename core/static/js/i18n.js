// The page's language: `t()` and `tn()` look messages up in the catalog the server sends with the
// page (`core/i18n.py`, the same `.po` files as the server's own words), and format dates with Intl.
const data = JSON.parse(document.getElementById("i18n-catalog")?.textContent || "{}");

/** `fr` or `en`: the language the page is written in. */
export const locale = data.locale || document.documentElement.lang || "fr";
const messages = data.messages || {};

function fill(text, params) {
  return text.replace(/%\((\w+)\)[sd]/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** The translation of `msgid`, with `%(name)s` placeholders filled from `params`. */
export function t(msgid, params = {}) {
  return fill(messages[msgid] || msgid, params);
}

/** The singular or plural translation for `n` (`%(n)d` is filled with `n`). */
export function tn(singular, plural, n, params = {}) {
  const forms = messages[singular];
  const index = locale === "fr" ? Number(n > 1) : Number(n !== 1);
  const text = Array.isArray(forms) ? forms[index] : index ? plural : singular;
  return fill(text, { n, ...params });
}
