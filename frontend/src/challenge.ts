import { sha256 } from "@noble/hashes/sha256";

/** The server's CHALLENGE_REQUIRED (428) puzzle for a ticket: a counter such that
 * sha256("<puzzle>:<counter>") starts with `bits` zero bits. Solved in slices, so the page
 * stays responsive; sha256 in JavaScript because crypto.subtle needs HTTPS, and the kit also
 * serves plain HTTP. */
export interface Puzzle {
  puzzle: string;
  bits: number;
}

export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

const encoder = new TextEncoder();

export function solvesPuzzle({ puzzle, bits }: Puzzle, counter: number): boolean {
  return leadingZeroBits(sha256(encoder.encode(`${puzzle}:${counter}`))) >= bits;
}

/** The X-Sugang-Challenge answer. */
export async function solvePuzzle(challenge: Puzzle, slice = 5000): Promise<string> {
  for (let counter = 0; ; counter += 1) {
    if (solvesPuzzle(challenge, counter)) return `${challenge.puzzle}:${counter}`;
    if (counter % slice === slice - 1) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
