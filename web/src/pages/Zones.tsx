// Availability zones: each zone's nodes by architecture and provision state.
import { useQuery } from "@tanstack/react-query";
import { Space, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { stateLabel } from "../states";
import ErrorAlert from "./ErrorAlert";

type Zone = components["schemas"]["AvailabilityZone"];

function counts(map: Record<string, number>, label: (k: string) => string) {
  return (
    <Space wrap size={4}>
      {Object.entries(map).map(([k, n]) => (
        <Tag key={k}>
          {label(k)}: {n}
        </Tag>
      ))}
    </Space>
  );
}

export default function Zones() {
  const { t } = useTranslation();
  const zones = useQuery({ queryKey: ["zones"], queryFn: () => unwrap(api.GET("/api/v1/availability-zones")) });
  return (
    <>
      <Typography.Title level={3}>{t("zones.title")}</Typography.Title>
      <ErrorAlert error={zones.error} />
      <Table<Zone>
        rowKey="name"
        loading={zones.isLoading}
        dataSource={zones.data?.availability_zones ?? []}
        pagination={false}
        columns={[
          { title: t("zones.name"), dataIndex: "name" },
          { title: t("zones.nodes"), dataIndex: "nodes" },
          { title: t("zones.byArch"), dataIndex: "architectures", render: (v: Record<string, number>) => counts(v, (k) => k) },
          {
            title: t("zones.byState"),
            dataIndex: "provision_states",
            render: (v: Record<string, number>) => counts(v, (k) => stateLabel(t, "provisionState", k)),
          },
        ]}
      />
    </>
  );
}
