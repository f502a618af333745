// Every t("...") key written in the source exists in the catalogues (a key typed in a page but
// never added to en.json and zh.json fails here, not in front of a user).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import en from "./en.json";
import zh from "./zh.json";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) && !/\.test\./.test(name) ? [path] : [];
  });
}

function lookup(tree: object, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => {
    return node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined;
  }, tree);
}

describe("keys used in the source", () => {
  const src = join(__dirname, "..");
  const used = new Set<string>();
  for (const file of files(src)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\bt\(\s*"([\w.]+)"/g)) used.add(m[1]!);
    for (const m of text.matchAll(/\blabel:\s*"(\w+\.\w+)"/g)) used.add(m[1]!);
  }

  it("finds some", () => {
    expect(used.size).toBeGreaterThan(20);
  });

  it.each([...used])("%s is in both catalogues", (key) => {
    expect(typeof lookup(en, key), `en.json: ${key}`).toBe("string");
    expect(typeof lookup(zh, key), `zh.json: ${key}`).toBe("string");
  });
});
