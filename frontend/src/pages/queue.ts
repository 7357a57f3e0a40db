import { api, ApiError, session } from "../api";
import { h, replace } from "../dom";
import { followTicket, type Place } from "../events";
import { t } from "../i18n";
import { go } from "../router";
import type { Ticket } from "../types";
import { solvePuzzle, type Puzzle } from "../challenge";
import { alertRegion, explain } from "./common";

/** POST /queue/tickets; if the server asks for a proof of work first, solve it and ask again. */
async function takeTicket(main: HTMLElement): Promise<Ticket> {
  try {
    return await api<Ticket>("/queue/tickets", { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "CHALLENGE_REQUIRED") throw error;
    replace(main, h("h1", null, t("queueTitle")), h("p", { role: "status" }, error.message));
    const answer = await solvePuzzle(error.detail as unknown as Puzzle);
    return await api<Ticket>("/queue/tickets", {
      method: "POST",
      headers: { "X-Sugang-Challenge": answer },
    });
  }
}

export async function queuePage(main: HTMLElement): Promise<(() => void) | void> {
  let ticket: Ticket;
  try {
    ticket = await takeTicket(main);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_IN_RUSH_MODE") {
      session.setPass(null);
      replace(
        main,
        h("h1", null, t("queueTitle")),
        h("p", { class: "card" }, t("notRushMode")),
        h("a", { class: "button primary", href: "#/search" }, t("search")),
      );
      return;
    }
    const notice = alertRegion();
    explain(notice, error);
    replace(main, h("h1", null, t("queueTitle")), notice);
    return;
  }

  const position = h("p", { class: "position", id: "queue-position" });
  const ahead = h("p", { id: "queue-ahead" });
  const eta = h("p", { class: "muted", id: "queue-eta" });
  const bar = h("progress", { max: 100, value: 0, "aria-label": t("queuePosition") }) as HTMLProgressElement;
  const mode = h("p", { class: "muted", id: "queue-mode" });
  const status = h("p", { role: "status", "aria-live": "polite", id: "queue-status" });
  const notice = alertRegion();
  let firstAhead: number | null = null;

  const show = (place: Place) => {
    const p = place as unknown as Ticket;
    if (p.position === null) {
      replace(position, "—");
      replace(ahead, t("queueWaitingLottery"));
    } else {
      replace(position, h("span", { class: "sr-only" }, `${t("queuePosition")} `), String(p.position));
      replace(ahead, t("queueAhead", { n: p.ahead ?? 0 }));
      firstAhead = firstAhead ?? Math.max(1, p.ahead ?? 1);
      bar.value = Math.round(100 * (1 - (p.ahead ?? 0) / firstAhead));
    }
    replace(eta, p.eta_seconds !== null ? t("queueEta", { s: Math.ceil(p.eta_seconds) }) : "");
    if (p.admitted && p.access_token) {
      bar.value = 100;
      session.setPass(p.access_token, p.access_expires_at);
      replace(status, t("queueAdmitted"));
      setTimeout(() => go("search"), 600);
    }
  };
  show(ticket as unknown as Place);
  replace(
    main,
    h("h1", null, t("queueTitle")),
    h("section", { class: "card queue" }, h("h2", null, t("queuePosition")), position, ahead, bar, eta, mode, status),
    notice,
    h("p", { class: "card muted" }, t("queueFair")),
  );
  if (ticket.admitted) return;

  const path = `/queue/tickets/${encodeURIComponent(ticket.ticket)}`;
  const follow = followTicket(
    {
      stream: async (signal) => {
        const response = await fetch(`/api/v1${path}/events`, {
          headers: { Authorization: `Bearer ${session.get()?.token ?? ""}` },
          signal,
        });
        if (!response.ok || !response.headers.get("content-type")?.startsWith("text/event-stream"))
          return null;
        return response.body;
      },
      poll: () => api<Place>(path),
      sleep: (ms, signal) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    },
    show,
    (how) => replace(mode, how === "stream" ? t("queueLive") : t("queuePolling")),
    (error) => explain(notice, error),
  );
  return () => follow.stop();
}
