import { api } from "../api";
import { h, replace } from "../dom";
import { lang, t } from "../i18n";
import { go } from "../router";
import type { EnrollOut, MyEnrollments, Section } from "../types";
import { alertRegion, explain, times, title } from "./common";

interface Basket {
  term_id: number;
  credits: number;
  sections: Section[];
}

export async function basketPage(main: HTMLElement): Promise<void> {
  const notice = alertRegion();
  const list = h("div");

  async function load(): Promise<void> {
    const [basket, mine] = await Promise.all([
      api<Basket>("/basket"),
      api<MyEnrollments>("/me/enrollments"),
    ]);
    const held = new Set(mine.enrollments.map((s) => s.id));
    const waiting = new Map(mine.waitlist.map((w) => [w.section.id, w.position]));
    if (basket.sections.length === 0) return replace(list, h("p", { class: "card" }, t("emptyBasket")));
    replace(
      list,
      h("p", null, t("creditsSum", { n: mine.credits, max: mine.max_credits })),
      h(
        "ul",
        { class: "cards" },
        basket.sections.map((s) => {
          const enroll = h("button", { type: "button", class: "primary" }, t("enroll")) as HTMLButtonElement;
          enroll.addEventListener("click", () => enrollFrom(s, enroll, false));
          const remove = h("button", { type: "button" }, t("remove")) as HTMLButtonElement;
          remove.addEventListener("click", async () => {
            remove.disabled = true;
            await api(`/basket/${s.id}`, { method: "DELETE" }).catch((e) => explain(notice, e));
            await load();
          });
          const state = held.has(s.id)
            ? h("span", { class: "badge ok" }, t("enrolled"))
            : waiting.has(s.id)
              ? h("span", { class: "badge" }, t("waitlisted", { n: waiting.get(s.id)! }))
              : enroll;
          return h(
            "li",
            { class: "card", "data-section": s.id },
            h("h2", null, `${s.course_code}-${s.number} ${title(s)}`),
            h("p", null, `${s.credits} ${t("credits")} · ${s.instructor_name} · ${times(s)}`),
            h("p", null, `${t("seats")} ${t("seatsOf", { left: s.seats_left, cap: s.capacity })}`),
            h("div", { class: "actions" }, state, remove),
          );
        }),
      ),
    );
  }

  async function enrollFrom(section: Section, button: HTMLButtonElement, waitlist: boolean) {
    button.disabled = true;
    try {
      const out = await api<EnrollOut>("/enrollments", {
        method: "POST",
        body: { section_id: section.id, waitlist },
        admission: true,
        idempotent: true,
      });
      replace(notice, `${section.course_code}: `, out.status === "enrolled" ? t("enrolled") : t("waitlisted", { n: out.position ?? 0 }));
      notice.dataset.code = "OK";
      await load();
    } catch (error) {
      explain(notice, error);
      const code = (error as { code?: string }).code;
      if (code === "ADMISSION_REQUIRED" || code === "ADMISSION_EXPIRED") setTimeout(() => go("queue"), 1500);
      if (code === "SECTION_FULL") {
        const join = h("button", { type: "button", class: "primary" }, t("waitlistJoin")) as HTMLButtonElement;
        join.addEventListener("click", () => enrollFrom(section, join, true));
        notice.append(" ", join);
        join.focus();
      }
    } finally {
      button.disabled = false;
    }
  }

  replace(main, h("h1", null, t("basket")), notice, list);
  await load();
}

const DAYS = { ko: ["월", "화", "수", "목", "금"], en: ["Mon", "Tue", "Wed", "Thu", "Fri"] };

function minutes(hhmm: string): number {
  const [hours, mins] = hhmm.split(":").map(Number);
  return hours * 60 + mins;
}

export async function timetablePage(main: HTMLElement): Promise<void> {
  const notice = alertRegion();
  const body = h("div");

  async function load(): Promise<void> {
    const mine = await api<MyEnrollments>("/me/enrollments");
    if (mine.enrollments.length === 0 && mine.waitlist.length === 0)
      return replace(body, h("p", { class: "card" }, t("emptyTimetable")));
    const meetings = mine.enrollments.flatMap((s) => s.meeting_times.map((m) => ({ s, m })));
    const first = Math.min(9 * 60, ...meetings.map(({ m }) => minutes(m.start)));
    const last = Math.max(18 * 60, ...meetings.map(({ m }) => minutes(m.end)));
    const hours: number[] = [];
    for (let hour = Math.floor(first / 60); hour < Math.ceil(last / 60); hour++) hours.push(hour);
    const grid = h(
      "div",
      // The week drawn for the eye; the list below says the same to a screen reader.
      { class: "grid", "aria-hidden": "true", style: `--rows:${hours.length * 4}` },
      h("div", { class: "corner" }),
      DAYS[lang()].map((d, i) => h("div", { class: "dayhead", style: `grid-column:${i + 2}` }, d)),
      hours.map((hour, i) =>
        h("div", { class: "hour", style: `grid-row:${i * 4 + 2} / span 4` }, `${hour}:00`),
      ),
      meetings
        .filter(({ m }) => m.day < 5)
        .map(({ s, m }) => {
          const top = Math.round((minutes(m.start) - hours[0] * 60) / 15) + 2;
          const span = Math.max(1, Math.round((minutes(m.end) - minutes(m.start)) / 15));
          return h(
            "div",
            { class: "slot", style: `grid-column:${m.day + 2};grid-row:${top} / span ${span}` },
            h("strong", null, s.course_code),
            h("span", null, title(s)),
            h("small", null, `${m.start}-${m.end} ${m.room}`),
          );
        }),
    );
    replace(
      body,
      h("p", null, t("creditsSum", { n: mine.credits, max: mine.max_credits })),
      grid,
      h(
        "ul",
        { class: "cards" },
        mine.enrollments.map((s) => {
          const drop = h("button", { type: "button" }, t("drop")) as HTMLButtonElement;
          drop.addEventListener("click", async () => {
            if (!confirm(t("confirmDrop", { code: s.course_code }))) return;
            drop.disabled = true;
            try {
              await api(`/enrollments/${s.id}`, { method: "DELETE", admission: true, idempotent: true });
              await load();
            } catch (error) {
              explain(notice, error);
              drop.disabled = false;
            }
          });
          return h(
            "li",
            { class: "card", "data-section": s.id },
            h("h2", null, `${s.course_code}-${s.number} ${title(s)}`),
            h("p", null, `${s.credits} ${t("credits")} · ${times(s)}`),
            h("div", { class: "actions" }, drop),
          );
        }),
        mine.waitlist.map(({ section, position }) =>
          h(
            "li",
            { class: "card", "data-section": section.id },
            h("h2", null, `${section.course_code}-${section.number} ${title(section)}`),
            h("p", null, h("span", { class: "badge" }, t("waitlisted", { n: position }))),
          ),
        ),
      ),
    );
  }

  replace(main, h("h1", null, t("timetable")), notice, body);
  await load();
}
