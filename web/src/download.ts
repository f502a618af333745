// Exports (CSV, XLSX) come with the token, so they are fetched and handed to the browser as a
// file rather than linked.
import { toApiError, tokenStore } from "./api/client";

export async function download(path: string, filename: string): Promise<void> {
  const token = tokenStore.get();
  const r = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw toApiError(r.status, await r.json().catch(() => null));
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  URL.revokeObjectURL(url);
}
