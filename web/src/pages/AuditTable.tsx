// Audit events as a table: on the audit page and under a node or a host.
import { Table, Tag } from "antd";
import { useTranslation } from "react-i18next";
import type { AuditEvent, AuditPage } from "../api/types";
import { useDate } from "../format";
import ErrorAlert from "./ErrorAlert";

export default function AuditTable({
  page,
  events,
  loading,
  error,
}: {
  page?: AuditPage;
  events?: AuditEvent[];
  loading?: boolean;
  error?: unknown;
}) {
  const { t } = useTranslation();
  const date = useDate();
  const none = t("common.none");
  return (
    <>
      <ErrorAlert error={error} />
      <Table<AuditEvent>
        rowKey="uuid"
        size="small"
        data-testid="audit-table"
        loading={loading}
        dataSource={events ?? page?.audit_events ?? []}
        pagination={false}
        locale={{ emptyText: t("audit.empty") }}
        columns={[
          { title: t("audit.time"), dataIndex: "created_at", render: (v: string) => date(v) },
          { title: t("audit.user"), dataIndex: "user_name", render: (v: string | null) => v ?? none },
          { title: t("audit.project"), dataIndex: "project_name", render: (v: string | null) => v ?? none },
          { title: t("audit.action"), dataIndex: "action" },
          {
            title: t("audit.target"),
            key: "target",
            render: (_, e) => (e.target_type ? `${e.target_type} ${e.target_name ?? e.target_id ?? ""}` : none),
          },
          {
            title: t("audit.outcome"),
            dataIndex: "outcome",
            render: (v: string, e) => (
              <Tag color={v === "success" ? "green" : "red"} title={e.detail ?? undefined}>
                {t(`auditOutcome.${v}`, { defaultValue: v })}
              </Tag>
            ),
          },
          { title: t("audit.detail"), dataIndex: "detail", render: (v: string | null) => v ?? none },
        ]}
      />
    </>
  );
}
