import { api, ApiError } from "../api";
import { field, h, liveRegion, replace } from "../dom";
import { lang, t } from "../i18n";
import type { Room, Section, SectionPage, Term, Window } from "../types";
import { alertRegion, explain, saving, title } from "./common";

const local = (iso: string) => {
  // <input type="datetime-local"> in Korea's time, whatever the device's zone
  const kst = new Date(Date.parse(iso) + 9 * 3600_000);
  return kst.toISOString().slice(0, 16);
};
const fromLocal = (value: string) => new Date(`${value}:00+09:00`).toISOString();

function termsSection(term: Term): HTMLElement {
  const status = liveRegion();
  const rows = term.enrollment_windows.map((w) => {
    const year = h("input", { type: "number", min: 1, max: 6, value: w.year_group ?? "" }) as HTMLInputElement;
    const opens = h("input", { type: "datetime-local", value: local(w.opens_at) }) as HTMLInputElement;
    const closes = h("input", { type: "datetime-local", value: local(w.closes_at) }) as HTMLInputElement;
    return { year, opens, closes };
  });
  const save = saving(status, async () => {
    const windows: Window[] = rows.map((r) => ({
      year_group: r.year.value ? Number(r.year.value) : null,
      opens_at: fromLocal(r.opens.value),
      closes_at: fromLocal(r.closes.value),
    }));
    await api(`/admin/terms/${term.id}`, { method: "PATCH", body: { enrollment_windows: windows } });
  });
  return h(
    "section",
    { class: "card" },
    h("h2", null, `${t("terms")}: ${lang() === "ko" ? term.name_ko : term.name_en}`),
    h(
      "form",
      { onsubmit: save },
      rows.map((r, i) =>
        h(
          "fieldset",
          { class: "row" },
          h("legend", null, `#${i + 1}`),
          field(t("year"), r.year),
          field(t("opensIn"), r.opens),
          field(t("closed"), r.closes),
        ),
      ),
      h("button", { type: "submit" }, t("save")),
      status,
    ),
  );
}

async function sectionsSection(term: Term): Promise<HTMLElement> {
  const status = alertRegion();
  const page = await api<SectionPage>(`/sections?term_id=${term.id}&page_size=100`);
  const rows = page.items.map((s: Section) => {
    const capacity = h("input", { type: "number", min: 0, value: s.capacity, "aria-label": `${s.course_code}-${s.number} ${t("capacity")}`, class: "short" }) as HTMLInputElement;
    const save = h("button", { type: "button" }, t("save")) as HTMLButtonElement;
    save.addEventListener("click", async () => {
      try {
        await api(`/admin/sections/${s.id}`, { method: "PATCH", body: { capacity: Number(capacity.value) } });
        replace(status, `${s.course_code}-${s.number}: ${t("saved")}`);
      } catch (error) {
        explain(status, error);
      }
    });
    return h("tr", null, h("td", null, `${s.course_code}-${s.number}`), h("td", null, title(s)), h("td", null, `${s.enrolled}`), h("td", null, capacity, " ", save));
  });
  const code = h("input", { required: true, size: 8 }) as HTMLInputElement;
  const number = h("input", { type: "number", min: 1, value: 1, required: true, class: "short" }) as HTMLInputElement;
  const cap = h("input", { type: "number", min: 0, value: 40, required: true, class: "short" }) as HTMLInputElement;
  const create = saving(status, async () => {
    await api("/admin/sections", {
      method: "POST",
      body: { term_id: term.id, course_code: code.value.trim(), number: Number(number.value), capacity: Number(cap.value) },
    });
  });
  return h(
    "section",
    { class: "card" },
    h("h2", null, t("sections")),
    status,
    h(
      "table",
      null,
      h("thead", null, h("tr", null, [t("code"), t("title"), t("enrolled"), t("capacity")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows),
    ),
    courseForm(),
    h("form", { class: "inline", onsubmit: create }, h("h3", null, t("newSection")), field(t("code"), code), field(t("number"), number), field(t("capacity"), cap), h("button", { type: "submit" }, t("newSection"))),
  );
}

function courseForm(): HTMLElement {
  const status = alertRegion();
  const code = h("input", { required: true, size: 8 }) as HTMLInputElement;
  const titleKo = h("input", { required: true }) as HTMLInputElement;
  const titleEn = h("input", { required: true }) as HTMLInputElement;
  const credits = h("input", { type: "number", min: 0, max: 9, value: 3, required: true, class: "short" }) as HTMLInputElement;
  const department = h("input", { required: true, size: 6 }) as HTMLInputElement;
  const create = async (event: Event) => {
    event.preventDefault();
    try {
      await api("/admin/courses", {
        method: "POST",
        body: {
          code: code.value.trim(),
          title_ko: titleKo.value.trim(),
          title_en: titleEn.value.trim(),
          credits: Number(credits.value),
          department_code: department.value.trim().toUpperCase(),
        },
      });
      replace(status, `${code.value}: ${t("saved")}`);
      status.dataset.code = "OK";
    } catch (error) {
      explain(status, error);
    }
  };
  return h(
    "form",
    { class: "inline", onsubmit: create },
    h("h3", null, t("newCourse")),
    field(t("code"), code),
    field(`${t("title")} (한국어)`, titleKo),
    field(`${t("title")} (English)`, titleEn),
    field(t("credits"), credits),
    field(t("department"), department),
    h("button", { type: "submit" }, t("newCourse")),
    status,
  );
}

function importSection(): HTMLElement {
  const kind = h("select", null, ["departments", "catalog", "students"].map((k) => h("option", { value: k }, k))) as HTMLSelectElement;
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true }) as HTMLInputElement;
  const result = h("div", { role: "status", "aria-live": "polite", id: "import-result" });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file.files?.[0]) return;
    const form = new FormData();
    form.append("file", file.files[0]);
    try {
      const out = await api<{ rows: number; created: number; updated: number }>(`/admin/import/${kind.value}`, { method: "POST", form });
      replace(result, t("importDone", out));
      result.dataset.code = "OK";
    } catch (error) {
      if (error instanceof ApiError && error.code === "IMPORT_INVALID") {
        const problems = (error.detail.errors ?? []) as { row: number; column: string | null; message: string }[];
        replace(
          result,
          h("p", { class: "error" }, t("importFailed")),
          h(
            "table",
            { class: "problems" },
            h("thead", null, h("tr", null, [t("row"), t("column"), t("problem")].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, problems.map((p) => h("tr", null, h("td", null, p.row), h("td", null, p.column ?? ""), h("td", null, p.message)))),
          ),
        );
        result.dataset.code = error.code;
      } else explain(result, error);
    }
  };
  return h(
    "section",
    { class: "card" },
    h("h2", null, t("import")),
    h("form", { class: "inline", onsubmit: submit }, field(t("importKind"), kind), field(t("importFile"), file), h("button", { type: "submit" }, t("importButton"))),
    result,
  );
}

function rushSection(term: Term, room: Room): HTMLElement {
  const status = liveRegion();
  const rush = h("input", { type: "checkbox", checked: room.rush_mode, id: "rush-mode" }) as HTMLInputElement;
  const accepting = h("input", { type: "checkbox", checked: room.accepting, id: "rush-accepting" }) as HTMLInputElement;
  const paused = h("input", { type: "checkbox", checked: room.paused, id: "rush-paused" }) as HTMLInputElement;
  const mode = h(
    "select",
    { id: "rush-admission" },
    (["rate", "concurrency", "adaptive"] as const).map((m) =>
      h("option", { value: m, selected: m === room.mode }, t(m === "rate" ? "modeRate" : m === "concurrency" ? "modeConcurrency" : "modeAdaptive")),
    ),
  ) as HTMLSelectElement;
  const rate = h("input", { type: "number", min: 0.1, step: 0.1, value: room.rate, class: "short" }) as HTMLInputElement;
  const maxActive = h("input", { type: "number", min: 1, value: room.max_active, class: "short" }) as HTMLInputElement;
  const summary = h("p", { id: "room-summary" }, `${t("depth")} ${room.waiting} · ${t("admittedSoFar")} ${room.admitted} · ${t("admissionRate")} ${room.rate}${t("perSecond")}`);
  const check = (control: HTMLElement, label: string) => h("div", { class: "field check" }, control, h("label", { for: control.id }, label));
  const apply = saving(status, async () => {
    const next = await api<Room>(`/admin/terms/${term.id}/waiting-room`, {
      method: "PATCH",
      body: { rush_mode: rush.checked, accepting: accepting.checked, paused: paused.checked, mode: mode.value, rate: Number(rate.value), max_active: Number(maxActive.value) },
    });
    replace(summary, `${t("depth")} ${next.waiting} · ${t("admittedSoFar")} ${next.admitted} · ${t("admissionRate")} ${next.rate}${t("perSecond")}`);
  });
  return h(
    "section",
    { class: "card" },
    h("h2", null, t("rush")),
    summary,
    h("form", { onsubmit: apply }, check(rush, t("rushMode")), check(accepting, t("accepting")), check(paused, t("paused")), field(t("mode"), mode), field(t("rate"), rate), field(t("maxActive"), maxActive), h("button", { type: "submit", class: "primary" }, t("apply")), status),
    h("p", null, h("a", { href: "#/dashboard" }, t("dashboard"))),
  );
}

export async function adminPage(main: HTMLElement): Promise<void> {
  const term = await api<Term>("/terms/current");
  const room = await api<Room>(`/admin/terms/${term.id}/waiting-room`);
  replace(main, h("h1", null, t("admin")), rushSection(term, room), importSection(), termsSection(term), await sectionsSection(term));
}
