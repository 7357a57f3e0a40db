import { api, servedBy } from "../api";
import { h, replace } from "../dom";
import { refusalTitle, t } from "../i18n";
import { parsePrometheus, rates, sumBy } from "../metrics";
import type { Room, Term } from "../types";

const EVERY_MS = 2000;

interface Reading {
  at: number;
  outcomes: Map<string, number>;
  requests: number;
}

function bars(values: Map<string, number>, unit: string): HTMLElement {
  const top = Math.max(1, ...values.values());
  const sorted = [...values.entries()].sort((a, b) => b[1] - a[1]);
  return h(
    "ul",
    { class: "bars" },
    sorted.map(([label, value]) =>
      h(
        "li",
        null,
        h("span", { class: "label" }, label || "—"),
        h("span", { class: "bar", style: `width:${Math.round((100 * value) / top)}%` }),
        h("span", { class: "value" }, `${value.toFixed(1)}${unit}`),
      ),
    ),
  );
}

export async function dashboardPage(main: HTMLElement): Promise<() => void> {
  const term = await api<Term>("/terms/current");
  const outcomes = h("div", { id: "dash-outcomes" });
  const queue = h("p", { id: "dash-queue", class: "big" });
  const hottest = h("div", { id: "dash-hottest" });
  const nodes = h("div", { id: "dash-nodes" });
  // Each reading may come from another pod (the Service balances them): keep each node's last
  // reading and rate, so the cluster's rate is the sum of the nodes' rates.
  const last = new Map<string, Reading>();
  const nodeOutcomeRates = new Map<string, Map<string, number>>();
  const nodeRequestRates = new Map<string, number>();

  async function tick(): Promise<void> {
    const response = await fetch("/metrics", { cache: "no-store" });
    const node = response.headers.get("X-Served-By") ?? "?";
    const samples = parsePrometheus(await response.text());
    const reading: Reading = {
      at: Date.now(),
      outcomes: sumBy(samples, "sugang_enrollment_attempts_total", "outcome"),
      requests: sumBy(samples, "sugang_http_requests_total").get("") ?? 0,
    };
    const before = last.get(node);
    if (before) {
      const seconds = (reading.at - before.at) / 1000;
      nodeOutcomeRates.set(node, rates(before.outcomes, reading.outcomes, seconds));
      const requests = rates(new Map([["", before.requests]]), new Map([["", reading.requests]]), seconds);
      nodeRequestRates.set(node, requests.get("") ?? 0);
    }
    last.set(node, reading);
    const total = new Map<string, number>();
    for (const perNode of nodeOutcomeRates.values())
      for (const [outcome, rate] of perNode) total.set(outcome, (total.get(outcome) ?? 0) + rate);
    const named = new Map<string, number>();
    for (const [outcome, rate] of total) {
      const label =
        outcome === "enrolled" ? t("enrolled") : outcome === "waitlisted" ? t("waitlist") : refusalTitle(outcome);
      named.set(label, (named.get(label) ?? 0) + rate);
    }
    replace(outcomes, bars(named, t("perSecond")));
    replace(nodes, bars(nodeRequestRates, t("perSecond")));
    const seats = samples
      .filter((s) => s.name === "sugang_section_seats_left")
      .sort((a, b) => a.value - b.value)
      .slice(0, 10);
    replace(
      hottest,
      h("ul", { class: "hot" }, seats.map((s) => h("li", null, `${s.labels.course_code}-${s.labels.section}: `, h("strong", null, String(s.value))))),
    );
    const room = await api<Room>(`/admin/terms/${term.id}/waiting-room`);
    replace(
      queue,
      `${t("depth")} `,
      h("strong", null, String(room.waiting)),
      ` · ${t("admissionRate")} `,
      h("strong", null, `${room.rate.toFixed(1)}${t("perSecond")}`),
      ` · ${t("admittedSoFar")} ${room.admitted}`,
    );
    servedBy.listeners.forEach((listen) => listen(node));
  }

  replace(
    main,
    h("h1", null, t("dashboard")),
    h("p", { class: "muted" }, t("dashboardNote")),
    h("section", { class: "card" }, h("h2", null, t("rush")), queue),
    h("section", { class: "card" }, h("h2", null, t("enrollmentsPerSecond")), outcomes),
    h("section", { class: "card" }, h("h2", null, t("hottest")), hottest),
    h("section", { class: "card" }, h("h2", null, t("perNode")), nodes),
  );
  await tick();
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") void tick().catch(() => undefined);
  }, EVERY_MS);
  return () => clearInterval(timer);
}
