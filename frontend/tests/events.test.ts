import { describe, expect, it } from "vitest";
import { type Place, SseParser, followTicket, pollDelayMs } from "../src/events";

describe("SseParser", () => {
  it("joins events split across chunks and skips comments", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\n\n")).toEqual([]);
    expect(parser.push('event: place\ndata: {"a"')).toEqual([]);
    expect(parser.push(':1}\n\nevent: place\r\ndata: 2\r\n\r\n')).toEqual([
      { event: "place", data: '{"a":1}' },
      { event: "place", data: "2" },
    ]);
  });

  it("joins multi-line data and defaults the event name", () => {
    expect(new SseParser().push("data: one\ndata: two\n\n")).toEqual([
      { event: "message", data: "one\ntwo" },
    ]);
  });
});

describe("pollDelayMs", () => {
  it("follows the server's pace within one and ten seconds", () => {
    expect(pollDelayMs({ admitted: false, poll_after_seconds: 3.5 })).toBe(3500);
    expect(pollDelayMs({ admitted: false, poll_after_seconds: 0.2 })).toBe(1000);
    expect(pollDelayMs({ admitted: false, poll_after_seconds: 60 })).toBe(10000);
    expect(pollDelayMs({ admitted: false })).toBe(2000);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

const place = (admitted: boolean, position: number): Place => ({
  admitted,
  position,
  poll_after_seconds: 1,
});

function follow(deps: Parameters<typeof followTicket>[0]) {
  const places: Place[] = [];
  const modes: string[] = [];
  let resolveDone: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const handle = followTicket(
    deps,
    (p) => {
      places.push(p);
      if (p.admitted) resolveDone();
    },
    (m) => modes.push(m),
    () => undefined,
  );
  return { places, modes, done, handle };
}

describe("followTicket", () => {
  it("reads places from the stream until admitted, without polling", async () => {
    let polls = 0;
    const run = follow({
      stream: async () =>
        streamOf([
          `event: place\ndata: ${JSON.stringify(place(false, 3))}\n\n`,
          `event: place\ndata: ${JSON.stringify(place(true, 1))}\n\n`,
        ]),
      poll: async () => {
        polls++;
        return place(true, 1);
      },
      sleep: async () => undefined,
    });
    await run.done;
    expect(run.places.map((p) => p.position)).toEqual([3, 1]);
    expect(run.modes).toEqual(["stream"]);
    expect(polls).toBe(0);
  });

  it("falls back to polling when the stream cannot be opened", async () => {
    const answers = [place(false, 2), place(false, 1), place(true, 1)];
    const slept: number[] = [];
    const run = follow({
      stream: async () => {
        throw new Error("proxy buffers event streams");
      },
      poll: async () => answers.shift()!,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    await run.done;
    expect(run.modes).toEqual(["polling"]);
    expect(run.places.map((p) => p.admitted)).toEqual([false, false, true]);
    expect(slept).toEqual([1000, 1000]); // as the server asked, never faster than 1/s
  });

  it("falls back to polling when the stream ends before admission", async () => {
    const run = follow({
      stream: async () => streamOf([`event: place\ndata: ${JSON.stringify(place(false, 5))}\n\n`]),
      poll: async () => place(true, 1),
      sleep: async () => undefined,
    });
    await run.done;
    expect(run.modes).toEqual(["stream", "polling"]);
    expect(run.places.map((p) => p.position)).toEqual([5, 1]);
  });

  it("stops when asked", async () => {
    let polls = 0;
    const run = follow({
      stream: async () => null,
      poll: async () => {
        polls++;
        return place(false, 9);
      },
      sleep: (_ms, signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve())),
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    run.handle.stop();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(polls).toBe(1);
  });
});
