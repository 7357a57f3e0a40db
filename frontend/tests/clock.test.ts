import { describe, expect, it } from "vitest";
import { countdown, estimateOffset, formatCountdown, measureOffset } from "../src/clock";

describe("estimateOffset", () => {
  it("takes the server's reading as made halfway through the round trip", () => {
    // device 1000 -> 1100; the server read 5050 halfway: the device is 4000 ms behind
    expect(estimateOffset([{ sentAt: 1000, receivedAt: 1100, serverMs: 5050 }])).toEqual({
      offsetMs: 4000,
      roundTripMs: 100,
    });
  });

  it("trusts the sample with the shortest round trip", () => {
    const estimate = estimateOffset([
      { sentAt: 0, receivedAt: 900, serverMs: 10_000 }, // a slow, misleading answer
      { sentAt: 2000, receivedAt: 2020, serverMs: 7010 },
    ]);
    expect(estimate).toEqual({ offsetMs: 5000, roundTripMs: 20 });
  });

  it("refuses to guess without samples", () => {
    expect(() => estimateOffset([])).toThrow();
  });
});

describe("countdown", () => {
  const opening = Date.UTC(2027, 1, 15, 1, 0, 0); // 10:00:00 KST

  it("counts on the server's clock, not the device's", () => {
    // the device is 3 minutes slow: without the offset it would show 3 minutes too many
    const device = opening - 5 * 60_000 - 180_000;
    const left = countdown(opening, device, 180_000);
    expect([left.minutes, left.seconds, left.done]).toEqual([5, 0, false]);
  });

  it("rounds up to the tenth, so 0.0 is shown only when it is time", () => {
    expect(countdown(opening, opening - 1, 0)).toMatchObject({ seconds: 0, tenths: 1, done: false });
    expect(countdown(opening, opening, 0).done).toBe(true);
    expect(countdown(opening, opening + 5000, 0).done).toBe(true);
  });

  it("formats days, then hours to tenths", () => {
    const left = countdown(opening, opening - (2 * 86_400_000 + 3_723_400), 0);
    expect(formatCountdown(left, "일")).toBe("2일 01:02:03.4");
    expect(formatCountdown(countdown(opening, opening - 61_500, 0), "d")).toBe("00:01:01.5");
  });
});

describe("measureOffset", () => {
  it("asks several times and keeps the best sample", async () => {
    let device = 0;
    const trips = [300, 40, 120, 60];
    const fetchTime = async () => {
      const trip = trips.shift() ?? 0;
      const read = device + trip / 2 + 10_000; // the server is 10 s ahead
      device += trip;
      return read;
    };
    const estimate = await measureOffset(fetchTime, () => device, 4);
    expect(estimate).toEqual({ offsetMs: 10_000, roundTripMs: 40 });
  });
});
