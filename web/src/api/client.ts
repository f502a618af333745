// The API client: generated types (schema.d.ts, `npm run gen` from openapi.json) under
// openapi-fetch. The token rides on every call; /v1 (Ironic's API) also gets the microversion
// header. Errors become ApiError with the API's own sentence and field.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

const TOKEN_KEY = "ironworks.token";

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer of the API that is not a success: its sentence, the field it names, the status. */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
  }
}

/** The sentence of an error body: problem+json (`detail`, `field`) on /api/v1, Ironic's
 * `error_message` (itself JSON with `faultstring`) on /v1. */
export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.detail === "string") {
      return new ApiError(status, b.detail, typeof b.field === "string" ? b.field : undefined);
    }
    if (typeof b.error_message === "string") {
      try {
        const inner = JSON.parse(b.error_message) as Record<string, unknown>;
        if (typeof inner.faultstring === "string") return new ApiError(status, inner.faultstring);
      } catch {
        // not JSON: the message itself
      }
      return new ApiError(status, b.error_message);
    }
  }
  if (typeof body === "string" && body) return new ApiError(status, body);
  return new ApiError(status, `HTTP ${status}`);
}

let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = tokenStore.get();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    if (new URL(request.url).pathname.startsWith("/v1")) {
      request.headers.set("X-OpenStack-Ironic-API-Version", "latest");
    }
    return request;
  },
  async onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/api/v1/auth/tokens")) {
      onUnauthorized();
    }
    // An empty answer (204, or 202 with no body) is read all the same: openapi-fetch leaves it
    // unread, and the browser then counts the request as aborted (net::ERR_ABORTED).
    if (response.status === 204 || response.headers.get("Content-Length") === "0") {
      await response.arrayBuffer();
      return new Response(null, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  fetch: (request) => globalThis.fetch(request), // looked up per call (tests stub it)
});
api.use(auth);

/** The data of an openapi-fetch result, or its ApiError thrown (for TanStack Query). */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}
