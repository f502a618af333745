// The batch import's preview: the CSV read as the server reads it (services/sheets.py: rows
// numbered as a spreadsheet shows them, from 1; the first non-empty row names the columns;
// empty rows skipped; "," or else ";" or a tab between cells) and the server's errors placed
// on their row and column.
import type { RowError } from "./api/types";

export interface PreviewRow {
  row: number; // the spreadsheet's row number, as the API's errors name it
  cells: Record<string, string>;
}

export interface Preview {
  header: string[];
  rows: PreviewRow[];
  headerRow: number;
}

/** CSV records (RFC 4180 quoting), each with its record number from 1. */
export function csvRecords(text: string): string[][] {
  const body = text.replace(/^\uFEFF/, "");
  const first = body.split("\n", 1)[0] ?? "";
  const sep = first.includes(",") ? "," : first.includes(";") ? ";" : first.includes("\t") ? "\t" : ",";
  const records: string[][] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === sep) {
      cells.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && body[i + 1] === "\n") i++;
      cells.push(cell);
      records.push(cells);
      cells = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || cells.length > 0) {
    cells.push(cell);
    records.push(cells);
  }
  return records;
}

export function parsePreview(text: string): Preview {
  const header: string[] = [];
  const rows: PreviewRow[] = [];
  let headerRow = 1;
  csvRecords(text).forEach((cells, index) => {
    const number = index + 1;
    if (cells.every((c) => c.trim() === "")) return;
    if (header.length === 0) {
      header.push(...cells.map((c) => c.trim()));
      headerRow = number;
      return;
    }
    const row: Record<string, string> = {};
    header.forEach((name, i) => (row[name] = cells[i] ?? ""));
    rows.push({ row: number, cells: row });
  });
  return { header, rows, headerRow };
}

export interface PlacedErrors {
  /** "row:column" → messages, for the cells that have one */
  cells: Map<string, string[]>;
  /** row → messages that name no column */
  rows: Map<number, string[]>;
  /** messages that name no row (the file as a whole), or a row the preview does not show */
  file: string[];
}

export function cellKey(row: number, column: string): string {
  return `${row}:${column}`;
}

/** Put each error on its cell, else its row, else the file. */
export function placeErrors(preview: Preview | null, errors: readonly RowError[]): PlacedErrors {
  const out: PlacedErrors = { cells: new Map(), rows: new Map(), file: [] };
  const shown = new Set(preview?.rows.map((r) => r.row) ?? []);
  const add = <K>(map: Map<K, string[]>, key: K, msg: string) => map.set(key, [...(map.get(key) ?? []), msg]);
  for (const e of errors) {
    if (e.row === null || (!shown.has(e.row) && e.row !== preview?.headerRow)) {
      out.file.push(e.row === null ? e.message : `${e.row}: ${e.message}`);
    } else if (e.row === preview?.headerRow) {
      out.file.push(e.column ? `${e.column}: ${e.message}` : e.message);
    } else if (e.column && preview?.header.includes(e.column)) {
      add(out.cells, cellKey(e.row, e.column), e.message);
    } else {
      add(out.rows, e.row, e.column ? `${e.column}: ${e.message}` : e.message);
    }
  }
  return out;
}

/** Rows with at least one error. */
export function badRows(errors: readonly RowError[]): number {
  return new Set(errors.filter((e) => e.row !== null).map((e) => e.row)).size;
}
