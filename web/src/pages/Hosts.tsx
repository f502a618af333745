// Hosts: the caller's hosts (/api/v1/hosts; the API shows each role its own scope), paged on
// the server by marker.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { App, Button, Select, Space, Table, Tag, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { errorText } from "../actions";
import { api, unwrap } from "../api/client";
import type { HostPage, HostRow } from "../api/types";
import { HOST_COLORS as COLORS, HOST_STATUSES, stateLabel } from "../states";
import { useMe } from "../auth";
import { download } from "../download";
import { allowed } from "../permissions";
import ErrorAlert from "./ErrorAlert";
import HostCreate from "./HostCreate";

const LIMIT = 50;

export default function Hosts() {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const me = useMe();
  const [creating, setCreating] = useState(false);
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]);
  const [status, setStatus] = useState<string>();
  const marker = markers[markers.length - 1];
  const query: Record<string, string | number> = { limit: LIMIT };
  if (marker) query.marker = marker;
  if (status) query.status = status;
  const hosts = useQuery({
    queryKey: ["hosts", query],
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/hosts", { params: { query: query as never } }))) as HostPage,
    placeholderData: keepPreviousData,
    // live state while hosts are changing
    refetchInterval: (q) =>
      (q.state.data as HostPage | undefined)?.hosts.some((h) => ["building", "rebuilding", "deleting"].includes(h.status))
        ? 3000
        : false,
  });
  const dates = new Intl.DateTimeFormat(i18n.language === "zh" ? "zh-CN" : "en", {
    dateStyle: "medium",
    timeStyle: "short",
  });
  const none = t("common.none");
  const columns: ColumnsType<HostRow> = [
    { title: t("hosts.name"), dataIndex: "name", render: (v: string, h) => <Link to={`/hosts/${h.uuid}`}>{v}</Link> },
    {
      title: t("hosts.status"),
      dataIndex: "status",
      render: (v: string) => (
        <Tag color={COLORS[v]} title={v}>
          {stateLabel(t, "hostStatus", v)}
        </Tag>
      ),
    },
    { title: t("hosts.project"), dataIndex: "project" },
    { title: t("hosts.flavor"), dataIndex: ["flavor", "name"] },
    { title: t("hosts.arch"), dataIndex: "cpu_arch", render: (v: string | null) => v ?? none },
    { title: t("hosts.image"), dataIndex: "image", render: (v: string | null) => v ?? none },
    { title: t("hosts.zone"), dataIndex: "availability_zone", render: (v: string | null) => v ?? none },
    {
      title: t("hosts.created"),
      dataIndex: "created_at",
      render: (v: string | null) => (v ? dates.format(new Date(v)) : none),
    },
  ];
  return (
    <>
      <Typography.Title level={3}>{t("hosts.title")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        <Select
          allowClear
          style={{ width: 180 }}
          placeholder={t("hosts.status")}
          value={status}
          onChange={(v: string | undefined) => {
            setStatus(v);
            setMarkers([undefined]);
          }}
          options={HOST_STATUSES.map((s) => ({ value: s, label: stateLabel(t, "hostStatus", s) }))}
        />
        <Button onClick={() => void hosts.refetch()} loading={hosts.isFetching}>
          {t("common.refresh")}
        </Button>
        {allowed(me.data, "host:create") && (
          <Button type="primary" onClick={() => setCreating(true)} data-testid="host-create">
            {t("hostCreate.open")}
          </Button>
        )}
        {allowed(me.data, "host:export") && (
          <Button
            onClick={() =>
              download("/api/v1/hosts/export?format=csv", "hosts.csv").catch((e: unknown) => message.error(errorText(e)))
            }
          >
            {t("common.export")}
          </Button>
        )}
      </Space>
      <HostCreate open={creating} onClose={() => setCreating(false)} />
      <ErrorAlert error={hosts.error} />
      <Table<HostRow>
        rowKey="uuid"
        size="middle"
        loading={hosts.isLoading}
        columns={columns}
        dataSource={hosts.data?.hosts ?? []}
        pagination={false}
        data-testid="hosts-table"
        locale={{ emptyText: t("hosts.empty") }}
      />
      <Space style={{ marginTop: 16 }}>
        <Button disabled={markers.length === 1} onClick={() => setMarkers([undefined])}>
          {t("common.first")}
        </Button>
        <Button
          disabled={!hosts.data?.next_marker}
          onClick={() => setMarkers([...markers, hosts.data?.next_marker])}
        >
          {t("common.next")}
        </Button>
      </Space>
    </>
  );
}
