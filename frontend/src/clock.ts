// The opening countdown runs on the server's clock, never the device's: a phone's clock can
// be minutes off, and at 10:00:00 a second matters.

export interface ClockSample {
  sentAt: number; // device clock (ms) when the request left
  receivedAt: number; // device clock (ms) when the answer came back
  serverMs: number; // the server's epoch_ms in the answer
}

export interface ClockEstimate {
  offsetMs: number; // add to the device clock to get the server's
  roundTripMs: number; // of the sample the estimate rests on
}

/** NTP's idea: the server read its clock halfway through the round trip. The sample with the
 * shortest round trip has the smallest error (at most half its round trip). */
export function estimateOffset(samples: ClockSample[]): ClockEstimate {
  if (samples.length === 0) throw new Error("no clock samples");
  const best = samples.reduce((a, b) =>
    b.receivedAt - b.sentAt < a.receivedAt - a.sentAt ? b : a,
  );
  const roundTripMs = best.receivedAt - best.sentAt;
  const midpoint = best.sentAt + roundTripMs / 2;
  return { offsetMs: Math.round(best.serverMs - midpoint), roundTripMs };
}

export interface Countdown {
  done: boolean;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  tenths: number;
}

/** What is left until `targetMs` (server time) when the device clock reads `deviceNowMs`. */
export function countdown(targetMs: number, deviceNowMs: number, offsetMs: number): Countdown {
  const left = targetMs - (deviceNowMs + offsetMs);
  if (left <= 0) return { done: true, days: 0, hours: 0, minutes: 0, seconds: 0, tenths: 0 };
  const tenthsTotal = Math.ceil(left / 100);
  const totalSeconds = Math.floor(tenthsTotal / 10);
  return {
    done: false,
    days: Math.floor(totalSeconds / 86400),
    hours: Math.floor((totalSeconds % 86400) / 3600),
    minutes: Math.floor((totalSeconds % 3600) / 60),
    seconds: totalSeconds % 60,
    tenths: tenthsTotal % 10,
  };
}

export function formatCountdown(c: Countdown, dayWord: string): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const clock = `${pad(c.hours)}:${pad(c.minutes)}:${pad(c.seconds)}.${c.tenths}`;
  return c.days > 0 ? `${c.days}${dayWord} ${clock}` : clock;
}

/** Ask the server's clock a few times and keep the best sample. */
export async function measureOffset(
  fetchTime: () => Promise<number>,
  now: () => number = () => Date.now(),
  samples = 4,
): Promise<ClockEstimate> {
  const taken: ClockSample[] = [];
  for (let i = 0; i < samples; i++) {
    const sentAt = now();
    const serverMs = await fetchTime();
    taken.push({ sentAt, receivedAt: now(), serverMs });
  }
  return estimateOffset(taken);
}
