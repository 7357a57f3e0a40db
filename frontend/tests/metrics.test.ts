import { describe, expect, it } from "vitest";
import { parsePrometheus, rates, sumBy } from "../src/metrics";

const TEXT = `# HELP sugang_enrollment_attempts_total Enroll requests by outcome.
# TYPE sugang_enrollment_attempts_total counter
sugang_enrollment_attempts_total{outcome="enrolled"} 40.0
sugang_enrollment_attempts_total{outcome="SECTION_FULL"} 100.0
sugang_http_requests_total{method="GET",route="/a",status="200"} 7.0
sugang_http_requests_total{method="POST",route="/b",status="201"} 3.0
sugang_section_seats_left{course_code="CSE\\"1",section="1",section_id="4"} 2.0
`;

describe("parsePrometheus", () => {
  it("reads names, labels (escapes included) and values, skipping comments", () => {
    const samples = parsePrometheus(TEXT);
    expect(samples).toHaveLength(5);
    expect(samples[4]).toEqual({
      name: "sugang_section_seats_left",
      labels: { course_code: 'CSE"1', section: "1", section_id: "4" },
      value: 2,
    });
  });

  it("sums by a label, or altogether", () => {
    const samples = parsePrometheus(TEXT);
    expect(sumBy(samples, "sugang_enrollment_attempts_total", "outcome")).toEqual(
      new Map([["enrolled", 40], ["SECTION_FULL", 100]]),
    );
    expect(sumBy(samples, "sugang_http_requests_total").get("")).toBe(10);
  });
});

describe("rates", () => {
  it("divides each counter's increase by the seconds between readings", () => {
    const before = new Map([["enrolled", 40], ["SECTION_FULL", 100]]);
    const after = new Map([["enrolled", 50], ["SECTION_FULL", 160], ["TIME_CONFLICT", 2]]);
    expect(rates(before, after, 2)).toEqual(
      new Map([["enrolled", 5], ["SECTION_FULL", 30], ["TIME_CONFLICT", 1]]),
    );
  });

  it("takes a counter that went down as restarted", () => {
    expect(rates(new Map([["x", 500]]), new Map([["x", 30]]), 10).get("x")).toBe(3);
  });
});
