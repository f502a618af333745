// The quotas of a department or a project, in a form (empty: no limit) and as text.
import { Form, InputNumber, Space } from "antd";
import { useTranslation } from "react-i18next";
import type { Quotas } from "../api/types";
import { formatMiB } from "../format";

const QUOTA_KEYS = ["quota_hosts", "quota_nodes", "quota_cores", "quota_ram_mb"] as const;

export default function QuotaFields() {
  const { t } = useTranslation();
  return (
    <Space wrap>
      {QUOTA_KEYS.map((k) => (
        <Form.Item key={k} name={k} label={t(`quota.${k}`)} tooltip={t("quota.help")}>
          <InputNumber min={0} placeholder={t("quota.unlimited")} />
        </Form.Item>
      ))}
    </Space>
  );
}

export function QuotaText({ q }: { q: Quotas }) {
  const { t } = useTranslation();
  const unl = t("quota.unlimited");
  return (
    <span style={{ whiteSpace: "nowrap" }}>
      {t("quota.short", {
        hosts: q.quota_hosts ?? unl,
        nodes: q.quota_nodes ?? unl,
        cores: q.quota_cores ?? unl,
        ram: q.quota_ram_mb === null ? unl : formatMiB(q.quota_ram_mb),
      })}
    </span>
  );
}
