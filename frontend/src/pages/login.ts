import { api, ApiError, session } from "../api";
import { field, h, liveRegion, replace } from "../dom";
import { t } from "../i18n";
import { go } from "../router";

interface TokenOut {
  access_token: string;
  user_id: number;
  username: string;
  name: string;
  role: "student" | "professor" | "admin";
}

export async function loginPage(main: HTMLElement): Promise<void> {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const status = liveRegion("error");
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const body = new URLSearchParams({
          username: (username as HTMLInputElement).value,
          password: (password as HTMLInputElement).value,
        });
        try {
          const token = await api<TokenOut>("/auth/token", { method: "POST", form: body });
          session.set({
            token: token.access_token,
            userId: token.user_id,
            username: token.username,
            name: token.name,
            role: token.role,
          });
          go(token.role === "admin" ? "admin" : token.role === "professor" ? "professor" : "");
        } catch (error) {
          replace(status, error instanceof ApiError && error.status === 401 ? t("badCredentials") : t("error"));
        }
      },
    },
    h("h1", null, t("login")),
    field(t("username"), username),
    field(t("password"), password),
    status,
    h("button", { type: "submit", class: "primary" }, t("login")),
  );
  replace(main, form);
}
