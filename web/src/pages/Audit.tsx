// The audit log: who did what to which object, with what outcome; filtered on the server
// (user, project, action, target type, outcome), paged by marker, exported as CSV or XLSX
// with the same filters. Each role sees its scope (the API's).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { App, Button, Input, Select, Space, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { errorText } from "../actions";
import { api, unwrap } from "../api/client";
import type { AuditPage } from "../api/types";
import { useMe } from "../auth";
import { download } from "../download";
import { allowed } from "../permissions";
import { auditQuery, type AuditFilters as Filters } from "../queries";
import AuditTable from "./AuditTable";

const LIMIT = 50;
export default function Audit() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const [filters, setFilters] = useState<Filters>({});
  const [draft, setDraft] = useState<Filters>({});
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]);
  const marker = markers[markers.length - 1];
  const query = auditQuery(filters, marker ? { limit: LIMIT, marker } : { limit: LIMIT });
  const events = useQuery({
    queryKey: ["audit", query],
    queryFn: async () => (await unwrap(api.GET("/api/v1/audit-events", { params: { query: query as never } }))) as AuditPage,
    placeholderData: keepPreviousData,
  });
  const apply = () => {
    setFilters(draft);
    setMarkers([undefined]);
  };
  const text = (key: keyof Filters, label: string) => (
    <Input
      allowClear
      style={{ width: 170 }}
      placeholder={label}
      aria-label={label}
      value={draft[key]}
      onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      onPressEnter={apply}
    />
  );
  const exportAs = (fmt: "csv" | "xlsx") => {
    const qs = new URLSearchParams(Object.entries(auditQuery(filters, { format: fmt })).map(([k, v]) => [k, String(v)]));
    download(`/api/v1/audit-events/export?${qs}`, `audit.${fmt}`).catch((e: unknown) => message.error(errorText(e)));
  };
  return (
    <>
      <Typography.Title level={3}>{t("audit.title")}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        {text("user_name", t("audit.user"))}
        {text("project_name", t("audit.project"))}
        {text("action", t("audit.actionExample"))}
        {text("target_type", t("audit.targetType"))}
        <Select
          allowClear
          style={{ width: 140 }}
          placeholder={t("audit.outcome")}
          value={draft.outcome}
          onChange={(v: string | undefined) => setDraft({ ...draft, outcome: v })}
          options={["success", "failure", "denied"].map((o) => ({ value: o, label: t(`auditOutcome.${o}`) }))}
        />
        <Button type="primary" onClick={apply}>{t("common.search")}</Button>
        <Button onClick={() => void events.refetch()} loading={events.isFetching}>{t("common.refresh")}</Button>
        {allowed(me.data, "audit:export") && (
          <>
            <Button onClick={() => exportAs("csv")}>{t("audit.exportCsv")}</Button>
            <Button onClick={() => exportAs("xlsx")}>{t("audit.exportXlsx")}</Button>
          </>
        )}
      </Space>
      <AuditTable page={events.data} loading={events.isLoading} error={events.error} />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={markers.length === 1} onClick={() => setMarkers([undefined])}>{t("common.first")}</Button>
        <Button disabled={!events.data?.next_marker} onClick={() => setMarkers([...markers, events.data?.next_marker])}>
          {t("common.next")}
        </Button>
      </Space>
    </>
  );
}
