// Vitest's jsdom lacks matchMedia, which Ant Design's responsive parts ask for.
window.matchMedia ??= ((query: string) => ({
  matches: false,
  media: query,
  onchange: null,
  addListener: () => undefined,
  removeListener: () => undefined,
  addEventListener: () => undefined,
  removeEventListener: () => undefined,
  dispatchEvent: () => false,
})) as typeof window.matchMedia;

// Unmount what each test rendered before the next (and before jsdom goes at the end of a file):
// a query answered after its test would otherwise render into a torn-down window.
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => cleanup());
