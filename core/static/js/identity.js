// The signed-in person in the top bar: the language switch (saved on the user) and sign-out.
import { api } from "./api.js";

/** Wire the top bar's language select and sign-out button (either may be absent). */
export function setUpIdentity() {
  const language = document.getElementById("language");
  if (language) {
    language.addEventListener("change", async () => {
      await api("/api/v1/me", { method: "PATCH", body: { locale: language.value } });
      window.location.reload();
    });
  }
  const signout = document.getElementById("signout");
  if (signout) {
    signout.addEventListener("click", async () => {
      await api("/dev/logout", { method: "POST" }).catch(() => null);
      window.location.assign("/");
    });
  }
}
