// Changes through the API: a mutation that names its success, refreshes what it changed and
// shows an API refusal with its own sentence and field (never "Request failed").
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { App } from "antd";
import { ApiError } from "./api/client";

/** The sentence of an error, with the field it names. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.field ? `${err.message} (${err.field})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

export function useAction<V, R = unknown>(
  fn: (vars: V) => Promise<R>,
  opts: { refresh?: QueryKey[]; done?: string; onDone?: (r: R) => void } = {},
) {
  const qc = useQueryClient();
  const { message } = App.useApp();
  return useMutation({
    mutationFn: fn,
    onSuccess: async (result) => {
      if (opts.done) void message.success(opts.done);
      for (const key of opts.refresh ?? []) await qc.invalidateQueries({ queryKey: key });
      opts.onDone?.(result);
    },
    onError: (err) => void message.error(errorText(err), 8),
  });
}

/** Field errors of a refusal, for an Ant Design form (`form.setFields`). */
export function formErrors(err: unknown): { name: string; errors: string[] }[] {
  return err instanceof ApiError && err.field ? [{ name: err.field, errors: [err.message] }] : [];
}
