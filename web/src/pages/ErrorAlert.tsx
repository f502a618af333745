import { Alert } from "antd";
import { ApiError } from "../api/client";

/** An API error with its own sentence (and the field it names), never "Request failed". */
export default function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const field = error instanceof ApiError && error.field ? ` (${error.field})` : "";
  return <Alert type="error" showIcon message={message + field} style={{ marginBottom: 16 }} />;
}
