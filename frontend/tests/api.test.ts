// The API client's retries, against a STAND-IN for the server (a scripted fetch): what it sends
// after a brief failure, and when it gives up.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, RETRIES, request } from "../src/api";

vi.hoisted(() => {
  const nothing = { getItem: () => null, setItem: () => {}, removeItem: () => {} };
  Object.assign(globalThis, { localStorage: nothing, sessionStorage: nothing });
});

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | "network";

function server(answers: Answer[]) {
  const seen: { method: string; key: string | null }[] = [];
  const fetch = vi.fn(async (_url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    seen.push({ method: init.method ?? "GET", key: headers["Idempotency-Key"] ?? null });
    const answer = answers.shift() ?? { status: 200, body: {} };
    if (answer === "network") throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(answer.body ?? {}), {
      status: answer.status,
      headers: { "Content-Type": "application/json", ...(answer.headers ?? {}) },
    });
  });
  vi.stubGlobal("fetch", fetch);
  return seen;
}

const busy: Answer = {
  status: 503,
  body: { code: "SERVICE_UNAVAILABLE", message: "try again" },
  headers: { "Retry-After": "1" },
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function settle<T>(promise: Promise<T>): Promise<T> {
  const result = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  const outcome = await result;
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

describe("request", () => {
  it("sends an enrollment again after a 503 with Retry-After, with the same Idempotency-Key", async () => {
    const seen = server([busy, "network", { status: 201, body: { status: "enrolled" } }]);
    const response = await settle(
      request("/enrollments", { method: "POST", body: { section_id: 1 }, idempotent: true }),
    );
    expect(response.status).toBe(201);
    expect(seen).toHaveLength(3);
    expect(seen[0].key).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
  });

  it("gives each click its own key", async () => {
    const seen = server([{ status: 201 }, { status: 201 }]);
    await settle(request("/enrollments", { method: "POST", body: {}, idempotent: true }));
    await settle(request("/enrollments", { method: "POST", body: {}, idempotent: true }));
    expect(seen[0].key).not.toBe(seen[1].key);
  });

  it("gives up after its retries and says why", async () => {
    const seen = server(Array(RETRIES + 1).fill(busy));
    const failed = settle(request("/me/enrollments")).catch((error: unknown) => error);
    const error = (await failed) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("SERVICE_UNAVAILABLE");
    expect(error.retryAfterSeconds).toBe(1);
    expect(seen).toHaveLength(RETRIES + 1);
  });

  it("never sends a write again that the server cannot make idempotent", async () => {
    const seen = server([busy]);
    const failed = settle(request("/basket", { method: "POST", body: {} })).catch((e: unknown) => e);
    expect(((await failed) as ApiError).status).toBe(503);
    expect(seen).toEqual([{ method: "POST", key: null }]);
  });

  it("stops waiting to retry when the page gives up", async () => {
    server([busy]);
    const page = new AbortController();
    const sent = request("/me/enrollments", { signal: page.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    page.abort(new DOMException("left the page", "AbortError"));
    expect(((await sent) as DOMException).name).toBe("AbortError");
  });

  it("does not retry a refusal", async () => {
    const seen = server([{ status: 409, body: { code: "SECTION_FULL", message: "full" } }]);
    const failed = settle(
      request("/enrollments", { method: "POST", body: {}, idempotent: true }),
    ).catch((e: unknown) => e);
    expect(((await failed) as ApiError).code).toBe("SECTION_FULL");
    expect(seen).toHaveLength(1);
  });
});
