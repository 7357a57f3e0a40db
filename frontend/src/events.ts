// Live updates of a waiting-room ticket: server-sent events read over fetch (so the
// Authorization header goes with them, which EventSource cannot send), falling back to
// polling at the pace the server asks for when the stream cannot be had or breaks.

export interface SseEvent {
  event: string;
  data: string;
}

/** Feed text as it arrives; returns the complete events and keeps the unfinished rest. */
export class SseParser {
  private buffer = "";

  push(chunk: string): SseEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (data.length > 0) events.push({ event, data: data.join("\n") });
    }
    return events;
  }
}

export interface Place {
  admitted: boolean;
  poll_after_seconds?: number | null;
  [key: string]: unknown;
}

export interface Follow {
  stop(): void;
}

export interface FollowDeps {
  stream: (signal: AbortSignal) => Promise<ReadableStream<Uint8Array> | null>;
  poll: () => Promise<Place>;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const MIN_POLL_MS = 1000; // whatever the server says, at most one poll a second
const MAX_POLL_MS = 10000;

export function pollDelayMs(place: Place): number {
  const asked = (place.poll_after_seconds ?? 2) * 1000;
  return Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, asked));
}

/** Report every place until admitted: through the stream while it lasts, then by polling.
 * `onMode` says which one is in use (the page shows it). */
export function followTicket(
  deps: FollowDeps,
  onPlace: (place: Place) => void,
  onMode: (mode: "stream" | "polling") => void,
  onError: (error: unknown) => void,
): Follow {
  const controller = new AbortController();
  const signal = controller.signal;
  let admitted = false;

  const report = (place: Place) => {
    if (signal.aborted) return;
    admitted = admitted || place.admitted;
    onPlace(place);
  };

  async function viaStream(): Promise<void> {
    const body = await deps.stream(signal);
    if (!body) return;
    onMode("stream");
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    while (!signal.aborted && !admitted) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        if (event.event === "place") report(JSON.parse(event.data) as Place);
        if (event.event === "error") throw new Error(event.data);
      }
    }
  }

  async function viaPolling(): Promise<void> {
    onMode("polling");
    while (!signal.aborted && !admitted) {
      try {
        const place = await deps.poll();
        report(place);
        if (place.admitted) return;
        await deps.sleep(pollDelayMs(place), signal);
      } catch (error) {
        if (signal.aborted) return;
        onError(error);
        await deps.sleep(2000, signal);
      }
    }
  }

  (async () => {
    try {
      await viaStream();
    } catch (error) {
      if (signal.aborted) return;
    }
    if (!admitted && !signal.aborted) await viaPolling();
  })();

  return { stop: () => controller.abort() };
}
