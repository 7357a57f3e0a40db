import { sha256 } from "@noble/hashes/sha256";
import { describe, expect, it } from "vitest";
import { leadingZeroBits, solvePuzzle, solvesPuzzle } from "../src/challenge";

describe("the ticket challenge's proof of work", () => {
  it("counts leading zero bits as the server does", () => {
    expect(leadingZeroBits(new Uint8Array([0, 0, 0xff]))).toBe(16);
    expect(leadingZeroBits(new Uint8Array([0, 0x1f]))).toBe(11);
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0);
  });

  it("finds a counter whose hash has enough zero bits", async () => {
    const challenge = { puzzle: "a.b.c", bits: 10 };
    const answer = await solvePuzzle(challenge);
    const counter = Number(answer.split(":").at(-1));
    expect(answer.startsWith("a.b.c:")).toBe(true);
    expect(solvesPuzzle(challenge, counter)).toBe(true);
    const digest = sha256(new TextEncoder().encode(answer));
    expect(leadingZeroBits(digest)).toBeGreaterThanOrEqual(10);
  });
});
