// How values read on the pages: dates in the user's own time zone and language, sizes in
// binary units.
import { useTranslation } from "react-i18next";

/** The locale tag of our language for Intl. */
export function localeOf(language: string): string {
  return language === "zh" ? "zh-CN" : "en";
}

/** An ISO time (the API answers UTC) in the browser's time zone; `none` when there is none. */
export function formatDate(value: string | null | undefined, language: string, none = "—"): string {
  if (!value) return none;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return value;
  return new Intl.DateTimeFormat(localeOf(language), {
    dateStyle: "medium",
    timeStyle: "medium",
  }).format(at);
}

/** The page's date formatter, following the language switch. */
export function useDate(): (value: string | null | undefined) => string {
  const { t, i18n } = useTranslation();
  return (value) => formatDate(value, i18n.language, t("common.none"));
}

/** Mebibytes as "16 GiB" or "512 MiB". */
export function formatMiB(mb: number | null | undefined): string {
  if (mb === null || mb === undefined) return "—";
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

/** Bytes as "1.5 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1).replace(/\.0$/, "")} ${units[i]}`;
}

/** Seconds between two ISO times (to `now` while unfinished). */
export function secondsBetween(start: string, end: string | null, now: number = Date.now()): number {
  return Math.max(0, ((end ? Date.parse(end) : now) - Date.parse(start)) / 1000);
}

/** A duration as "1 min 5 s" / "850 ms". */
export function formatSeconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}
