// The API client: the bearer token, the language, the admission pass, every refusal turned
// into an ApiError with its stable code, and a brief failure (503 + Retry-After, a lost
// connection) tried again where that is safe.
import { lang } from "./i18n";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail: Record<string, unknown> = {},
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }

  /** The server said "try again shortly" (a failover), or the answer never came. */
  get brief(): boolean {
    return (this.status === 503 && this.retryAfterSeconds !== null) || this.status === 0;
  }
}

interface Session {
  token: string;
  userId: number;
  username: string;
  name: string;
  role: "student" | "professor" | "admin";
}

export const session = {
  get(): Session | null {
    const raw = sessionStorage.getItem("sugang.session");
    return raw ? (JSON.parse(raw) as Session) : null;
  },
  set(value: Session | null): void {
    if (value) sessionStorage.setItem("sugang.session", JSON.stringify(value));
    else sessionStorage.removeItem("sugang.session");
  },
  pass(): string | null {
    const raw = sessionStorage.getItem("sugang.pass");
    if (!raw) return null;
    const { token, expiresAt } = JSON.parse(raw) as { token: string; expiresAt: number };
    return expiresAt > Date.now() ? token : null;
  },
  setPass(token: string | null, expiresAt?: string | null): void {
    if (!token) sessionStorage.removeItem("sugang.pass");
    else
      sessionStorage.setItem(
        "sugang.pass",
        JSON.stringify({ token, expiresAt: expiresAt ? Date.parse(expiresAt) : Date.now() + 6e5 }),
      );
  },
};

/** Which server answered last (X-Served-By): the footer shows it. */
export const servedBy = { value: "", listeners: [] as ((v: string) => void)[] };

function noteServer(response: Response): void {
  const by = response.headers.get("X-Served-By");
  if (by && by !== servedBy.value) {
    servedBy.value = by;
    servedBy.listeners.forEach((listen) => listen(by));
  }
}

// However fast someone clicks, a page sends at most a burst of 20 requests, then 2 a second.
const bucket = { tokens: 20, last: Date.now() };
async function takeToken(): Promise<void> {
  for (;;) {
    const now = Date.now();
    bucket.tokens = Math.min(20, bucket.tokens + ((now - bucket.last) / 1000) * 2);
    bucket.last = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  form?: FormData | URLSearchParams;
  admission?: boolean;
  signal?: AbortSignal;
  /** A write the server makes idempotent (enroll, drop): it carries an Idempotency-Key, so
   * it can be sent again after a brief failure and still act once. */
  idempotent?: boolean;
  headers?: Record<string, string>;
}

/** Tries after the first, for a read or an idempotent write, after a brief failure. */
export const RETRIES = 3;
const RETRY_AFTER_CAP_SECONDS = 10;

/** One key per click: crypto.randomUUID needs HTTPS, and the kit also serves plain HTTP. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? "GET";
  const key = options.idempotent ? newIdempotencyKey() : undefined;
  const retried = method === "GET" || key !== undefined;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send(path, method, options, key);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.brief || !retried || attempt >= RETRIES) throw error;
      // never sooner than asked, and spread out: the clicks turned away together do not all
      // come back in the same instant
      const wait = Math.min(error.retryAfterSeconds ?? 1, RETRY_AFTER_CAP_SECONDS);
      await pause(wait * (1 + Math.random() / 2) * 1000, options.signal);
    }
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

async function send(
  path: string,
  method: string,
  options: RequestOptions,
  idempotencyKey: string | undefined,
): Promise<Response> {
  await takeToken();
  const headers: Record<string, string> = { "Accept-Language": lang(), ...options.headers };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const current = session.get();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  const pass = options.admission ? session.pass() : null;
  if (pass) headers["X-Admission-Token"] = pass;
  let body: BodyInit | undefined;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body,
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK", "network");
  }
  noteServer(response);
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as {
      code?: string;
      message?: string;
      detail?: Record<string, unknown>;
    };
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    throw new ApiError(
      response.status,
      problem.code ?? `HTTP_${response.status}`,
      problem.message ?? response.statusText,
      problem.detail ?? {},
      Number.isNaN(retryAfter) ? null : retryAfter,
    );
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export async function serverTimeMs(): Promise<number> {
  const response = await fetch("/api/v1/time", { cache: "no-store" });
  noteServer(response);
  return ((await response.json()) as { epoch_ms: number }).epoch_ms;
}
