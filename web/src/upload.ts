// An upload with progress: fetch cannot report an upload's progress, XMLHttpRequest can.
import { toApiError, tokenStore } from "./api/client";

export function putWithProgress(
  path: string,
  file: Blob,
  onProgress: (percent: number) => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", path);
    const token = tokenStore.get();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.floor((e.loaded / e.total) * 100));
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(toApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new Error(`PUT ${path}: the connection failed`));
    xhr.send(file);
  });
}
