import { api, serverTimeMs, session } from "../api";
import { countdown, formatCountdown, measureOffset } from "../clock";
import { h, replace } from "../dom";
import { lang, t } from "../i18n";
import { go } from "../router";
import type { Me, Term, Window } from "../types";

function phase(label: string, window: Window, nowMs: number): HTMLElement {
  const opens = Date.parse(window.opens_at);
  const closes = Date.parse(window.closes_at);
  const state = nowMs < opens ? t("opensIn") : nowMs < closes ? t("openNow") : t("closed");
  const fmt = (iso: string) =>
    new Date(iso).toLocaleString(lang() === "ko" ? "ko-KR" : "en-GB", {
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: "Asia/Seoul",
    });
  return h(
    "li",
    { class: nowMs >= opens && nowMs < closes ? "now" : undefined },
    h("span", null, label),
    h("span", null, `${fmt(window.opens_at)} – ${fmt(window.closes_at)}`),
    h("em", null, state),
  );
}

export async function homePage(main: HTMLElement): Promise<() => void> {
  const user = session.get()!;
  const [term, me, clock] = await Promise.all([
    api<Term>("/terms/current"),
    api<Me>("/me"),
    measureOffset(serverTimeMs),
  ]);
  const now = () => Date.now() + clock.offsetMs;
  const windows = [...term.enrollment_windows].sort(
    (a, b) => Date.parse(a.opens_at) - Date.parse(b.opens_at),
  );
  const phases = h(
    "ol",
    { class: "phases" },
    phase(t("basketPeriod"), term.basket, now()),
    windows.map((w) =>
      phase(w.year_group ? t("yearWindow", { year: w.year_group }) : t("allYears"), w, now()),
    ),
    phase(t("addDrop"), term.add_drop, now()),
  );
  // A student counts down to their own year group's window (or one open to every year).
  const mine = windows.filter((w) => w.year_group === null || w.year_group === me.year);
  const next = (me.role === "student" ? mine : windows)
    .map((w) => Date.parse(w.opens_at))
    .find((opens) => opens > now());
  const display = h("p", { class: "countdown", "aria-live": "off" });
  const offset = Math.abs(clock.offsetMs);
  const offsetText = t("clockOffset", {
    offset: offset >= 1000 ? `${(offset / 1000).toFixed(1)}s` : `${offset}ms`,
    dir: clock.offsetMs > 0 ? t("behind") : t("ahead"),
    rtt: Math.round(clock.roundTripMs),
  });
  const timer = setInterval(() => {
    if (next === undefined) return;
    replace(display, formatCountdown(countdown(next, Date.now(), clock.offsetMs), t("dayWord")));
  }, 100);
  replace(
    main,
    h("h1", null, lang() === "ko" ? term.name_ko : term.name_en),
    next !== undefined
      ? h(
          "section",
          { class: "card", "aria-labelledby": "countdown-title" },
          h("h2", { id: "countdown-title" }, t("countdownTitle")),
          display,
          h("p", { class: "muted", id: "clock-offset" }, offsetText),
        )
      : null,
    h("section", { class: "card" }, h("h2", null, t("termPhases")), phases),
    user.role === "student"
      ? h("button", { type: "button", class: "primary big", onclick: () => go("queue") }, t("enterRegistration"))
      : null,
  );
  return () => clearInterval(timer);
}
