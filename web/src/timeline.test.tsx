import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import TimelineChart from "./components/TimelineChart";
import { setLanguage } from "./i18n";
import { timelineChart } from "./timeline";

const phases = [
  { phase: "write image", started: "2026-01-01T00:00:10.000Z", finished: "2026-01-01T00:00:40.000Z" },
  { phase: "fetch image", started: "2026-01-01T00:00:00.000Z", finished: "2026-01-01T00:00:10.000Z" },
  { phase: "reboot to disk", started: "2026-01-01T00:00:40.000Z", finished: null },
];

describe("the deploy timeline", () => {
  it("places each phase on one axis, in the order they started", () => {
    const now = Date.parse("2026-01-01T00:01:00.000Z");
    const chart = timelineChart(phases, now);
    expect(chart.totalSeconds).toBe(60);
    expect(chart.bars.map((b) => b.phase)).toEqual(["fetch image", "write image", "reboot to disk"]);
    const [fetch, write, reboot] = chart.bars;
    expect(fetch).toMatchObject({ offsetPct: 0, seconds: 10, open: false });
    expect(fetch!.widthPct).toBeCloseTo(100 / 6);
    expect(write!.offsetPct).toBeCloseTo(100 / 6);
    expect(write!.seconds).toBe(30);
    // the open phase runs to now
    expect(reboot).toMatchObject({ open: true, seconds: 20 });
    expect(reboot!.offsetPct + reboot!.widthPct).toBeCloseTo(100);
  });

  it("keeps a very short phase visible and ignores junk", () => {
    const chart = timelineChart([
      { phase: "a", started: "2026-01-01T00:00:00Z", finished: "2026-01-01T00:10:00Z" },
      { phase: "b", started: "2026-01-01T00:10:00Z", finished: "2026-01-01T00:10:00.001Z" },
      { phase: "c", started: "not a time", finished: null },
    ]);
    expect(chart.bars).toHaveLength(2);
    expect(chart.bars[1]!.widthPct).toBeGreaterThan(0);
    expect(chart.bars[1]!.offsetPct + chart.bars[1]!.widthPct).toBeLessThanOrEqual(100);
    expect(timelineChart(undefined)).toEqual({ bars: [], totalSeconds: 0 });
  });

  it("draws a bar per phase with its label in the user's language", () => {
    setLanguage("zh");
    render(<TimelineChart phases={phases} />);
    expect(screen.getByText("获取镜像")).toBeTruthy();
    expect(screen.getAllByRole("img")).toHaveLength(3);
    setLanguage("en");
  });
});
