import { api, request } from "../api";
import { h, replace } from "../dom";
import { t } from "../i18n";
import type { RosterEntry, Section } from "../types";
import { times, title } from "./common";

interface Roster {
  section: Section;
  enrolled: RosterEntry[];
  waitlist: RosterEntry[];
}

function rosterTable(caption: string, entries: RosterEntry[], withPosition: boolean): HTMLElement {
  return h(
    "table",
    null,
    h("caption", null, `${caption} (${entries.length})`),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        withPosition ? h("th", { scope: "col" }, "#") : null,
        [t("studentNumber"), t("name"), t("year"), t("department")].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      entries.map((e) =>
        h(
          "tr",
          null,
          withPosition ? h("td", null, e.position ?? "") : null,
          h("td", null, e.student_number),
          h("td", null, e.name),
          h("td", null, e.year),
          h("td", null, e.department_code ?? ""),
        ),
      ),
    ),
  );
}

async function download(section: Section): Promise<void> {
  const response = await request(`/sections/${section.id}/roster?format=csv`);
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `roster-${section.course_code}-${section.number}.csv` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function professorPage(main: HTMLElement): Promise<void> {
  const sections = await api<Section[]>("/professor/sections");
  const detail = h("div", { "aria-live": "polite" });
  const show = async (section: Section) => {
    const roster = await api<Roster>(`/sections/${section.id}/roster`);
    const csv = h("button", { type: "button", onclick: () => void download(section) }, t("downloadCsv"));
    replace(
      detail,
      h(
        "section",
        { class: "card" },
        h("h2", null, `${section.course_code}-${section.number} ${title(section)}`),
        h("p", null, `${times(section)} · ${t("seats")} ${t("seatsOf", { left: section.seats_left, cap: section.capacity })}`),
        csv,
        rosterTable(t("roster"), roster.enrolled, false),
        rosterTable(t("waitlist"), roster.waitlist, true),
      ),
    );
  };
  replace(
    main,
    h("h1", null, t("professor")),
    h(
      "ul",
      { class: "cards" },
      sections.map((s) =>
        h(
          "li",
          { class: "card" },
          h("h2", null, `${s.course_code}-${s.number} ${title(s)}`),
          h("p", null, `${s.enrolled}/${s.capacity} · ${t("waitlist")} ${s.waitlist_length}`),
          h("button", { type: "button", onclick: () => void show(s) }, t("roster")),
        ),
      ),
    ),
    detail,
  );
}
