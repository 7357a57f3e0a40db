// The shell: header with the pages this user may open, a language switch, the page, and a
// footer that says which node and pod answered (X-Served-By).
import "./style.css";
import { ApiError, servedBy, session } from "./api";
import { h, replace } from "./dom";
import { type Key, lang, setLang, t } from "./i18n";
import { adminPage } from "./pages/admin";
import { dashboardPage } from "./pages/dashboard";
import { homePage } from "./pages/home";
import { loginPage } from "./pages/login";
import { professorPage } from "./pages/professor";
import { queuePage } from "./pages/queue";
import { searchPage } from "./pages/search";
import { basketPage, timetablePage } from "./pages/student";
import { currentRoute, go, onRouteChange } from "./router";

interface Page {
  title: Key;
  render: (main: HTMLElement) => Promise<(() => void) | void>;
  roles?: string[];
}

const pages: Record<string, Page> = {
  "": { title: "home", render: homePage },
  login: { title: "login", render: loginPage },
  queue: { title: "queueTitle", render: queuePage, roles: ["student"] },
  search: { title: "search", render: searchPage },
  basket: { title: "basket", render: basketPage, roles: ["student"] },
  timetable: { title: "timetable", render: timetablePage, roles: ["student"] },
  professor: { title: "professor", render: professorPage, roles: ["professor", "admin"] },
  admin: { title: "admin", render: adminPage, roles: ["admin"] },
  dashboard: { title: "dashboard", render: dashboardPage, roles: ["admin"] },
};

const nav: Record<string, [string, Key][]> = {
  student: [["", "home"], ["search", "search"], ["basket", "basket"], ["timetable", "timetable"]],
  professor: [["", "home"], ["professor", "professor"], ["search", "search"]],
  admin: [["", "home"], ["admin", "admin"], ["dashboard", "dashboard"], ["professor", "professor"]],
};

let cleanup: (() => void) | void;

async function show(): Promise<void> {
  const route = currentRoute();
  const user = session.get();
  const page = pages[route] ?? pages[""];
  if (!user && route !== "login") return go("login");
  if (page.roles && user && !page.roles.includes(user.role)) return go("");
  if (cleanup) cleanup();
  cleanup = undefined;
  document.title = `${t(page.title)} · ${t("app")}`;
  const main = h("main", { id: "main", tabindex: "-1" });
  replace(document.body, header(route), main, footer());
  try {
    cleanup = await page.render(main);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_AUTHENTICATED") {
      session.set(null);
      return go("login");
    }
    replace(main, h("p", { class: "error", role: "alert" }, t("error")));
  }
  main.focus();
}

function header(route: string): HTMLElement {
  const user = session.get();
  const links = (user ? nav[user.role] : []).map(([to, key]) =>
    h("a", { href: `#/${to}`, "aria-current": to === route ? "page" : undefined }, t(key)),
  );
  return h(
    "header",
    null,
    h("a", { class: "skip", href: "#main" }, lang() === "ko" ? "본문 바로가기" : "Skip to content"),
    h("strong", { class: "brand" }, t("app")),
    h("nav", { "aria-label": t("app") }, links),
    h(
      "div",
      { class: "tools" },
      h(
        "button",
        {
          type: "button",
          "aria-label": t("languageLabel"),
          onclick: () => {
            setLang(lang() === "ko" ? "en" : "ko");
            void show();
          },
        },
        t("language"),
      ),
      user
        ? h(
            "button",
            {
              type: "button",
              onclick: () => {
                session.set(null);
                session.setPass(null);
                go("login");
              },
            },
            t("logout"),
          )
        : null,
    ),
  );
}

function footer(): HTMLElement {
  const text = h("span", { id: "served-by" }, servedBy.value || "—");
  servedBy.listeners = [(value) => (text.textContent = value)];
  return h("footer", null, `${t("servedBy")}: `, text);
}

setLang(lang());
onRouteChange(() => void show());
void show();
