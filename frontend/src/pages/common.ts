import { ApiError } from "../api";
import { h, replace } from "../dom";
import { lang, refusalTitle, t } from "../i18n";
import type { Section } from "../types";

export function title(section: Section): string {
  return lang() === "ko" ? section.title_ko : section.title_en;
}

export function times(section: Section): string {
  return section.meeting_times.map((m) => `${m.day_name} ${m.start}-${m.end}`).join(", ");
}

/** A form's submit handler: run `save`, then say "saved" in `status`, or why not. */
export function saving(status: HTMLElement, save: () => Promise<void>): (event: Event) => Promise<void> {
  return async (event: Event) => {
    event.preventDefault();
    try {
      await save();
      replace(status, t("saved"));
    } catch (error) {
      explain(status, error);
    }
  };
}

/** A refusal in plain words: a headline from its code, then the particulars. */
export function explain(target: HTMLElement, error: unknown): void {
  if (error instanceof ApiError && error.code !== "NETWORK" && error.status < 500) {
    replace(
      target,
      h("strong", null, refusalTitle(error.code)),
      " ",
      error.message,
      error.code === "SECTION_FULL" ? h("span", null, " ", t("sectionFullWaitlist")) : null,
    );
  } else {
    replace(target, t("error"));
  }
  target.dataset.code = error instanceof ApiError ? error.code : "ERROR";
}

export function alertRegion(): HTMLElement {
  return h("div", { class: "notice", role: "alert", "aria-live": "assertive" });
}
