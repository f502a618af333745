// The license: its state (evaluation, valid, expired), nodes used and allowed, days left, and
// installing a new license file (the vendor's signed JSON document).
import { useQuery } from "@tanstack/react-query";
import { Alert, Button, Card, Descriptions, Progress, Tag, Typography, Upload } from "antd";
import { useTranslation } from "react-i18next";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { LicenseState } from "../api/types";
import { useMe } from "../auth";
import { allowed } from "../permissions";
import ErrorAlert from "./ErrorAlert";

const COLORS: Record<string, string> = { valid: "green", evaluation: "blue", expired: "red" };

export default function License() {
  const { t } = useTranslation();
  const me = useMe();
  const license = useQuery({
    queryKey: ["license"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/license"))) as LicenseState & { days_left?: number },
  });
  const install = useAction(
    async (file: File) => {
      let doc: unknown;
      try {
        doc = JSON.parse(await file.text());
      } catch {
        throw new Error(t("license.notJson"));
      }
      return unwrap(api.PUT("/api/v1/license", { body: doc as never }));
    },
    { refresh: [["license"]], done: t("license.installed") },
  );
  const l = license.data;
  const none = t("common.none");
  return (
    <>
      <Typography.Title level={3}>{t("license.title")}</Typography.Title>
      <ErrorAlert error={license.error} />
      {l && (
        <Card>
          {l.state === "expired" && <Alert type="error" showIcon message={t("license.expiredHelp")} style={{ marginBottom: 16 }} />}
          <Descriptions column={1} data-testid="license-state">
            <Descriptions.Item label={t("license.state")}>
              <Tag color={COLORS[l.state]}>{t(`license.states.${l.state}`, { defaultValue: l.state })}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t("license.nodes")}>
              {l.nodes_allowed ? (
                <Progress style={{ width: 260 }} percent={Math.round((l.nodes_used / l.nodes_allowed) * 100)} format={() => `${l.nodes_used} / ${l.nodes_allowed}`} />
              ) : (
                l.nodes_used
              )}
            </Descriptions.Item>
            <Descriptions.Item label={t("license.waiting")}>{l.nodes_awaiting_acceptance}</Descriptions.Item>
            <Descriptions.Item label={t("license.daysLeft")}>{l.days_left ?? none}</Descriptions.Item>
            {l.license &&
              Object.entries(l.license)
                .filter(([, v]) => typeof v !== "object")
                .map(([k, v]) => (
                  <Descriptions.Item key={k} label={k}>{String(v)}</Descriptions.Item>
                ))}
          </Descriptions>
          {allowed(me.data, "license:update") && (
            <Upload accept=".json,application/json" showUploadList={false} beforeUpload={(f) => { install.mutate(f); return false; }}>
              <Button loading={install.isPending}>{t("license.install")}</Button>
            </Upload>
          )}
        </Card>
      )}
    </>
  );
}
