// One host: the PRD's fields (state, name, flavor with CPU cores, memory and local disk,
// architecture, CPU model, IPs, UUID, the node it runs on, the image), its NICs and disks,
// its audit; start, stop, reboot, rebuild, rename and delete, each confirmed and each shown
// only to who may. The page polls while the host is changing.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Descriptions, Form, Input, Modal, Popconfirm, Select, Space, Spin, Table, Tabs, Tag, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Disk, HostDetail as Host } from "../api/types";
import { useMe } from "../auth";
import { formatBytes, formatMiB, useDate } from "../format";
import { useImages } from "../lists";
import { allowed } from "../permissions";
import { HOST_COLORS, stateLabel } from "../states";
import AuditTable from "./AuditTable";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";

const POLL_MS = 3000;
const CHANGING = new Set(["building", "rebuilding", "deleting"]);

export default function HostDetail() {
  const { t } = useTranslation();
  const { ident = "" } = useParams();
  const navigate = useNavigate();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const key = ["host", ident];
  // the power state a start, stop or reboot asked for: the page polls until the host has it
  const [awaiting, setAwaiting] = useState<string | null>(null);
  const host = useQuery({
    queryKey: key,
    queryFn: async () => {
      const got = (await unwrap(api.GET("/api/v1/hosts/{ident}", { params: { path: { ident } } }))) as Host;
      setAwaiting((wanted) => (wanted !== null && got.power_state === wanted ? null : wanted));
      return got;
    },
    refetchInterval: (q) => {
      const data = q.state.data as Host | undefined;
      return CHANGING.has(data?.status ?? "") || (awaiting !== null && data?.power_state !== awaiting) ? POLL_MS : false;
    },
  });
  const [renaming, setRenaming] = useState(false);
  const [rebuilding, setRebuilding] = useState(false);
  const [image, setImage] = useState<string>();
  const images = useImages(rebuilding);
  const [renameForm] = Form.useForm<{ name: string }>();
  const refresh = [key, ["hosts"]];
  const h = host.data;
  const uuid = h?.uuid ?? ident;
  const path = { params: { path: { ident: uuid } } };

  const power = useAction(
    (action: "start" | "stop" | "reboot") =>
      action === "start"
        ? unwrap(api.POST("/api/v1/hosts/{ident}/start", path))
        : action === "stop"
          ? unwrap(api.POST("/api/v1/hosts/{ident}/stop", path))
          : unwrap(api.POST("/api/v1/hosts/{ident}/reboot", path)),
    { refresh, done: t("node.requested") },
  );
  const rebuild = useAction(
    (img: string | undefined) => unwrap(api.POST("/api/v1/hosts/{ident}/rebuild", { ...path, body: (img ? { image: img } : {}) as never })),
    { refresh, done: t("node.requested"), onDone: () => setRebuilding(false) },
  );
  const rename = useAction(
    (name: string) => unwrap(api.PATCH("/api/v1/hosts/{ident}", { ...path, body: { name } as never })),
    { refresh, done: t("common.saved"), onDone: () => setRenaming(false) },
  );
  const remove = useAction(() => unwrap(api.DELETE("/api/v1/hosts/{ident}", path)), {
    refresh: [["hosts"]],
    done: t("hostDetail.deleting"),
    onDone: () => navigate("/hosts"),
  });

  if (host.isLoading) return <Spin />;
  if (!h) return <ErrorAlert error={host.error} />;
  const none = t("common.none");
  const busy = CHANGING.has(h.status) || awaiting !== null;
  return (
    <>
      <Link to="/hosts">{t("hostDetail.back")}</Link>
      <Typography.Title level={3}>
        {t("hostDetail.title", { name: h.name })} {busy && <Spin size="small" />}
      </Typography.Title>
      <ErrorAlert error={host.error} />
      <Space wrap style={{ marginBottom: 16 }} data-testid="host-actions">
        {can("host:power") && (
          <>
            <Popconfirm title={t("hostDetail.confirmStart", { name: h.name })} onConfirm={() => { setAwaiting("power on"); power.mutate("start", { onError: () => setAwaiting(null) }); }}>
              <Button disabled={busy}>{t("hostDetail.start")}</Button>
            </Popconfirm>
            <Popconfirm title={t("hostDetail.confirmStop", { name: h.name })} onConfirm={() => { setAwaiting("power off"); power.mutate("stop", { onError: () => setAwaiting(null) }); }}>
              <Button disabled={busy}>{t("hostDetail.stop")}</Button>
            </Popconfirm>
            <Popconfirm title={t("hostDetail.confirmReboot", { name: h.name })} onConfirm={() => { setAwaiting("power on"); power.mutate("reboot", { onError: () => setAwaiting(null) }); }}>
              <Button disabled={busy}>{t("hostDetail.reboot")}</Button>
            </Popconfirm>
          </>
        )}
        {can("host:rebuild") && (
          <Button disabled={busy} onClick={() => { setImage(undefined); setRebuilding(true); }}>{t("hostDetail.rebuild")}</Button>
        )}
        {can("host:update") && (
          <Button onClick={() => { renameForm.setFieldsValue({ name: h.name }); setRenaming(true); }}>{t("hostDetail.rename")}</Button>
        )}
        {can("host:delete") && (
          <DeleteButton confirm={t("hostDetail.confirmDelete", { name: h.name })} onConfirm={() => remove.mutate(undefined)} small={false} />
        )}
        <Button onClick={() => void host.refetch()} loading={host.isFetching}>{t("common.refresh")}</Button>
      </Space>
      <Card size="small" style={{ marginBottom: 16 }}>
        <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small" data-testid="host-fields">
          <Descriptions.Item label={t("hosts.name")}>{h.name}</Descriptions.Item>
          <Descriptions.Item label={t("hosts.status")}>
            <Tag color={HOST_COLORS[h.status]}>{stateLabel(t, "hostStatus", h.status)}</Tag>
            {h.status_reason && <Typography.Text type="danger">{h.status_reason}</Typography.Text>}
          </Descriptions.Item>
          <Descriptions.Item label={t("nodes.powerState")}>{h.power_state ? stateLabel(t, "powerState", h.power_state) : none}</Descriptions.Item>
          <Descriptions.Item label={t("hosts.flavor")}>
            {`${h.flavor.name} (${h.flavor.cpus} ${t("hostCreate.cores")}, ${formatMiB(h.flavor.memory_mb)}, ${h.flavor.local_gb} GiB)`}
          </Descriptions.Item>
          <Descriptions.Item label={t("hosts.arch")}>{h.cpu_arch ?? none}</Descriptions.Item>
          <Descriptions.Item label={t("node.cpuModel")}>{h.cpu_model || none}</Descriptions.Item>
          <Descriptions.Item label={t("hostDetail.ips")}>{h.ip_addresses.length ? h.ip_addresses.join(", ") : none}</Descriptions.Item>
          <Descriptions.Item label={t("nodes.uuid")}><Typography.Text code copyable>{h.uuid}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t("hosts.node")}>
            {h.node_uuid ? (can("node:read") ? <Link to={`/nodes/${h.node_uuid}`}>{h.node_uuid}</Link> : h.node_uuid) : none}
          </Descriptions.Item>
          <Descriptions.Item label={t("hosts.image")}>{h.image ?? none}</Descriptions.Item>
          <Descriptions.Item label={t("hosts.project")}>{h.project}</Descriptions.Item>
          <Descriptions.Item label={t("hosts.zone")}>{h.availability_zone ?? none}</Descriptions.Item>
          <Descriptions.Item label={t("hosts.created")}>{date(h.created_at)}</Descriptions.Item>
          <Descriptions.Item label={t("node.updated")}>{date(h.updated_at)}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Tabs
        items={[
          {
            key: "nics",
            label: t("node.nics"),
            children: (
              <Table rowKey="uuid" size="small" pagination={false} dataSource={h.nics}
                columns={[
                  { title: t("port.address"), dataIndex: "mac" },
                  { title: t("hostDetail.network"), dataIndex: "network_name" },
                  {
                    title: t("hostDetail.ips"),
                    dataIndex: "fixed_ips",
                    render: (ips: Host["nics"][number]["fixed_ips"]) => ips.map((ip) => ip.address).join(", "),
                  },
                ]}
              />
            ),
          },
          {
            key: "disks",
            label: t("node.disks"),
            children: (
              <Table<Disk> rowKey={(d) => d.name ?? String(d.size ?? d.size_gb)} size="small" pagination={false} dataSource={h.disks}
                columns={[
                  { title: t("node.diskName"), dataIndex: "name", render: (v?: string) => v ?? none },
                  { title: t("node.diskSize"), key: "size", render: (_, d) => (d.size ? formatBytes(d.size) : d.size_gb ? `${d.size_gb} GiB` : none) },
                  { title: t("node.diskModel"), dataIndex: "model", render: (v?: string | null) => v ?? none },
                ]}
              />
            ),
          },
          { key: "audit", label: t("node.audit"), children: <AuditTable events={h.audit} /> },
        ]}
      />
      <FormModal
        form={renameForm}
        open={renaming}
        title={t("hostDetail.rename")}
        onCancel={() => setRenaming(false)}
        mutation={rename}
        vars={(v) => v.name}
      >
          <Form.Item name="name" label={t("hosts.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input />
          </Form.Item>
        </FormModal>
      <Modal
        open={rebuilding}
        title={t("hostDetail.rebuildOf", { name: h.name })}
        onCancel={() => setRebuilding(false)}
        onOk={() => rebuild.mutate(image)}
        okText={t("hostDetail.rebuild")}
        okButtonProps={{ danger: true }}
        cancelText={t("common.cancel")}
        confirmLoading={rebuild.isPending}
      >
        <Typography.Paragraph type="warning">{t("hostDetail.rebuildWarning")}</Typography.Paragraph>
        <Select
          allowClear
          style={{ width: "100%" }}
          placeholder={t("hostDetail.sameImage", { image: h.image ?? "" })}
          value={image}
          onChange={setImage}
          options={(images.data?.images ?? [])
            .filter((i) => i.kind === "os" && i.status === "active" && (!h.cpu_arch || i.cpu_arch === h.cpu_arch))
            .map((i) => ({ value: i.name, label: i.name }))}
        />
      </Modal>
    </>
  );
}
