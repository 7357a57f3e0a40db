import { describe, expect, it } from "vitest";

// The UI's modules as text, to read their imports: pages import the router, never the shell.
const sources = import.meta.glob<string>("../src/**/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
});

function importsOf(path: string, source: string): string[] {
  const found = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/gm)];
  const directory = path.split("/").slice(0, -1);
  return found.map(([, specifier]) => {
    const parts = [...directory];
    for (const part of specifier.split("/")) {
      if (part === "..") parts.pop();
      else if (part !== ".") parts.push(part);
    }
    const resolved = parts.join("/");
    return resolved.endsWith(".ts") || resolved.endsWith(".css") ? resolved : `${resolved}.ts`;
  });
}

const graph = new Map(Object.entries(sources).map(([path, source]) => [path, importsOf(path, source)]));

function cycleFrom(start: string): string[] | null {
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  function visit(module: string): string[] | null {
    if (onPath.has(module)) return [...path.slice(path.indexOf(module)), module];
    if (done.has(module)) return null;
    path.push(module);
    onPath.add(module);
    for (const next of graph.get(module) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(module);
    done.add(module);
    return null;
  }
  return visit(start);
}

describe("the UI's modules", () => {
  it("are all read (the check is not vacuous)", () => {
    expect(graph.get("../src/main.ts")).toContain("../src/router.ts");
    expect(graph.get("../src/pages/home.ts")).toContain("../src/router.ts");
  });

  it("never import the shell (main.ts)", () => {
    const importers = [...graph].filter(([, imports]) => imports.includes("../src/main.ts"));
    expect(importers.map(([path]) => path)).toEqual([]);
  });

  it("import each other without cycles", () => {
    const cycles = [...graph.keys()].map(cycleFrom).filter((cycle) => cycle !== null);
    expect(cycles).toEqual([]);
  });
});
