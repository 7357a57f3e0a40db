import { api, session } from "../api";
import { field, h, replace } from "../dom";
import { lang, t } from "../i18n";
import { go } from "../router";
import type { EnrollOut, Section, SectionPage } from "../types";
import { alertRegion, explain, times, title } from "./common";

const DAYS_KO = ["월", "화", "수", "목", "금", "토"];
const DAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const REFRESH_MS = 15_000; // seats left, while the page is in view

export async function searchPage(main: HTMLElement): Promise<() => void> {
  const user = session.get()!;
  const q = h("input", { type: "search", name: "q", placeholder: t("q") }) as HTMLInputElement;
  const department = h("input", { name: "department", size: 6 }) as HTMLInputElement;
  const days = lang() === "ko" ? DAYS_KO : DAYS_EN;
  const day = h(
    "select",
    { name: "day" },
    h("option", { value: "" }, t("anyDay")),
    days.map((d, i) => h("option", { value: String(i) }, d)),
  ) as HTMLSelectElement;
  const from = h("input", { type: "time", name: "from" }) as HTMLInputElement;
  const hasSeats = h("input", { type: "checkbox", name: "has_seats" }) as HTMLInputElement;
  const results = h("div", { class: "results", "aria-live": "polite", "aria-busy": "false" });
  const notice = alertRegion();
  let sections: Section[] = [];

  async function load(): Promise<void> {
    const params = new URLSearchParams({ page_size: "100" });
    if (q.value.trim()) params.set("q", q.value.trim());
    if (department.value.trim()) params.set("department", department.value.trim().toUpperCase());
    if (hasSeats.checked) params.set("has_seats", "true");
    results.setAttribute("aria-busy", "true");
    const page = await api<SectionPage>(`/sections?${params}`);
    results.setAttribute("aria-busy", "false");
    // day and start time are filtered here: the API searches text, department and seats
    sections = page.items.filter((s) => {
      const meetings = s.meeting_times;
      if (day.value !== "" && !meetings.some((m) => m.day === Number(day.value))) return false;
      if (from.value && !meetings.some((m) => m.start >= from.value)) return false;
      return true;
    });
    render();
  }

  async function act(section: Section, how: "enroll" | "waitlist" | "basket", button: HTMLButtonElement) {
    button.disabled = true;
    try {
      if (how === "basket") {
        await api("/basket", { method: "POST", body: { section_id: section.id } });
        replace(notice, `${section.course_code}: ${t("addToBasket")} ✓`);
      } else {
        const out = await api<EnrollOut>("/enrollments", {
          method: "POST",
          body: { section_id: section.id, waitlist: how === "waitlist" },
          admission: true,
          idempotent: true,
        });
        replace(
          notice,
          `${section.course_code}: `,
          out.status === "enrolled" ? t("enrolled") : t("waitlisted", { n: out.position ?? 0 }),
        );
      }
      notice.dataset.code = "OK";
      await load();
    } catch (error) {
      explain(notice, error);
      if (error instanceof Error && "code" in error) {
        const code = (error as { code: string }).code;
        if (code === "ADMISSION_REQUIRED" || code === "ADMISSION_EXPIRED") setTimeout(() => go("queue"), 1500);
        if (code === "SECTION_FULL") offerWaitlist(section);
      }
    } finally {
      button.disabled = false;
    }
  }

  function offerWaitlist(section: Section): void {
    const button = h("button", { type: "button", class: "primary" }, t("waitlistJoin")) as HTMLButtonElement;
    button.addEventListener("click", () => act(section, "waitlist", button));
    notice.append(" ", button);
    button.focus();
  }

  function render(): void {
    if (sections.length === 0) return replace(results, h("p", null, t("noResults")));
    replace(
      results,
      h(
        "table",
        { class: "sections" },
        h(
          "thead",
          null,
          h("tr", null, [t("code"), t("title"), t("credits"), t("instructor"), t("times"), t("seats"), ""].map((c) => h("th", { scope: "col" }, c))),
        ),
        h(
          "tbody",
          null,
          sections.map((s) => {
            const enroll = h("button", { type: "button", class: "primary" }, t("enroll")) as HTMLButtonElement;
            enroll.addEventListener("click", () => act(s, "enroll", enroll));
            const basket = h("button", { type: "button" }, t("addToBasket")) as HTMLButtonElement;
            basket.addEventListener("click", () => act(s, "basket", basket));
            return h(
              "tr",
              { "data-section": s.id },
              h("td", { "data-label": t("code") }, `${s.course_code}-${s.number}`),
              h("td", { "data-label": t("title") }, title(s)),
              h("td", { "data-label": t("credits") }, s.credits),
              h("td", { "data-label": t("instructor") }, s.instructor_name),
              h("td", { "data-label": t("times") }, times(s)),
              h("td", { "data-label": t("seats"), class: s.seats_left === 0 ? "full" : undefined }, t("seatsOf", { left: s.seats_left, cap: s.capacity })),
              h("td", { class: "actions" }, user.role === "student" ? [enroll, basket] : null),
            );
          }),
        ),
      ),
    );
  }

  let debounce: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void load().catch((e) => explain(notice, e)), 300);
  };
  for (const control of [q, department, from]) control.addEventListener("input", later);
  for (const control of [day, hasSeats]) control.addEventListener("change", later);

  replace(
    main,
    h("h1", null, t("search")),
    h(
      "form",
      { class: "filters card", role: "search", onsubmit: (e: Event) => (e.preventDefault(), later()) },
      field(t("q"), q),
      field(t("department"), department),
      field(t("day"), day),
      field(t("from"), from),
      h("div", { class: "field check" }, hasSeats, h("label", { for: (hasSeats.id = "has-seats") }, t("hasSeats"))),
      h("button", { type: "submit" }, t("searchButton")),
    ),
    notice,
    results,
  );
  await load();
  const refresh = setInterval(() => {
    if (document.visibilityState === "visible") void load().catch(() => undefined);
  }, REFRESH_MS);
  return () => {
    clearInterval(refresh);
    clearTimeout(debounce);
  };
}
