// The deploy timeline as bars: each phase of `driver_internal_info.timeline`
// (ironworks/domain/phases.py) placed on one time axis from the first start to the last end
// (or now, while a phase is open).
import type { Phase } from "./api/types";
import { secondsBetween } from "./format";

export interface Bar {
  phase: string;
  started: string;
  finished: string | null;
  seconds: number;
  offsetPct: number; // where the bar starts on the axis, 0-100
  widthPct: number; // its length, at least a sliver so a short phase stays visible
  open: boolean;
}

export interface Chart {
  bars: Bar[];
  totalSeconds: number;
}

const MIN_WIDTH = 0.5;

export function timelineChart(phases: readonly Phase[] | undefined, now: number = Date.now()): Chart {
  const valid = (phases ?? []).filter(
    (p) => p && typeof p.phase === "string" && !Number.isNaN(Date.parse(p.started)),
  );
  if (valid.length === 0) return { bars: [], totalSeconds: 0 };
  const start = Math.min(...valid.map((p) => Date.parse(p.started)));
  const end = Math.max(...valid.map((p) => (p.finished ? Date.parse(p.finished) : now)));
  const span = Math.max(end - start, 1);
  const bars = [...valid]
    .sort((a, b) => Date.parse(a.started) - Date.parse(b.started))
    .map((p) => {
      const from = Date.parse(p.started);
      const to = p.finished ? Date.parse(p.finished) : now;
      const offsetPct = ((from - start) / span) * 100;
      return {
        phase: p.phase,
        started: p.started,
        finished: p.finished,
        seconds: secondsBetween(p.started, p.finished, now),
        offsetPct,
        widthPct: Math.min(Math.max(((to - from) / span) * 100, MIN_WIDTH), 100 - offsetPct),
        open: !p.finished,
      };
    });
  return { bars, totalSeconds: span / 1000 };
}
