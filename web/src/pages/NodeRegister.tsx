// Register one node: its name, hardware type and specs, and the BMC settings the hardware
// type declares (/api/v1/hardware-types/{name}/properties: required ones first, secrets as
// password fields, the rest folded), and its NICs' MAC addresses (ports made after the node).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Collapse, Drawer, Form, Input, InputNumber, Select, Space, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { errorText, formErrors } from "../actions";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import ErrorAlert from "./ErrorAlert";

type Prop = components["schemas"]["HardwareProperty"];
type Values = {
  name: string;
  driver: string;
  resource_class?: string;
  cpu_arch?: string;
  cpus?: number;
  memory_mb?: number;
  local_gb?: number;
  cpu_model?: string;
  macs?: string[];
  driver_info?: Record<string, string | undefined>;
};

const ARCHES = ["x86_64", "aarch64"];

function PropField({ p }: { p: Prop }) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name={["driver_info", p.name]}
      label={p.name}
      tooltip={p.description}
      rules={p.required ? [{ required: true, message: t("register.required", { name: p.name }) }] : []}
    >
      {p.secret ? <Input.Password autoComplete="new-password" /> : <Input />}
    </Form.Item>
  );
}

export default function NodeRegister({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form] = Form.useForm<Values>();
  const driver = Form.useWatch("driver", form);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const drivers = useQuery({
    queryKey: ["drivers"],
    enabled: open,
    queryFn: async () => (await unwrap(api.GET("/v1/drivers"))) as { drivers: { name: string }[] },
  });
  const props = useQuery({
    queryKey: ["hardware-type", driver],
    enabled: open && Boolean(driver),
    queryFn: () =>
      unwrap(api.GET("/api/v1/hardware-types/{name}/properties", { params: { path: { name: driver } } })),
  });
  const all = props.data?.properties ?? [];
  const required = all.filter((p) => p.required);
  const optional = all.filter((p) => !p.required);

  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      const info = Object.fromEntries(Object.entries(v.driver_info ?? {}).filter(([, x]) => x !== undefined && x !== ""));
      const properties = Object.fromEntries(
        Object.entries({ cpu_arch: v.cpu_arch, cpus: v.cpus, memory_mb: v.memory_mb, local_gb: v.local_gb, cpu_model: v.cpu_model }).filter(
          ([, x]) => x !== undefined && x !== null && x !== "",
        ),
      );
      const body = { name: v.name, driver: v.driver, driver_info: info, properties, ...(v.resource_class ? { resource_class: v.resource_class } : {}) };
      const node = (await unwrap(api.POST("/v1/nodes", { body: body as never }))) as { uuid: string };
      const failed: string[] = [];
      for (const mac of v.macs ?? []) {
        try {
          await unwrap(api.POST("/v1/ports", { body: { node_uuid: node.uuid, address: mac } as never }));
        } catch (e) {
          failed.push(`${mac}: ${errorText(e)}`);
        }
      }
      await qc.invalidateQueries({ queryKey: ["nodes"] });
      if (failed.length) void message.warning(t("register.portsFailed", { errors: failed.join("; ") }), 10);
      else void message.success(t("register.done", { name: v.name }));
      form.resetFields();
      onClose();
      navigate(`/nodes/${node.uuid}`);
    } catch (e) {
      setError(e);
      form.setFields(formErrors(e) as never);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Drawer
      open={open}
      width="min(560px, 100vw)"
      title={t("register.title")}
      onClose={onClose}
      forceRender
      extra={
        <Space>
          <Button onClick={onClose}>{t("common.cancel")}</Button>
          <Button type="primary" loading={busy} onClick={() => form.submit()} data-testid="register-submit">
            {t("register.submit")}
          </Button>
        </Space>
      }
    >
      <ErrorAlert error={error ?? drivers.error ?? props.error} />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ cpu_arch: "x86_64" }}>
        <Form.Item name="name" label={t("nodes.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
          <Input />
        </Form.Item>
        <Form.Item name="driver" label={t("node.driver")} rules={[{ required: true, message: t("register.driverRequired") }]}>
          <Select
            loading={drivers.isLoading}
            options={(drivers.data?.drivers ?? []).map((d) => ({ value: d.name, label: d.name }))}
            data-testid="register-driver"
          />
        </Form.Item>
        <Space wrap>
          <Form.Item name="cpu_arch" label={t("node.arch")}>
            <Select style={{ width: 140 }} options={ARCHES.map((a) => ({ value: a, label: a }))} />
          </Form.Item>
          <Form.Item name="cpus" label={t("node.cpus")}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="memory_mb" label={t("register.memoryMb")}>
            <InputNumber min={1} />
          </Form.Item>
          <Form.Item name="local_gb" label={t("register.localGb")}>
            <InputNumber min={0} />
          </Form.Item>
        </Space>
        <Form.Item name="cpu_model" label={t("node.cpuModel")}>
          <Input />
        </Form.Item>
        <Form.Item name="resource_class" label={t("node.resourceClass")}>
          <Input placeholder="baremetal" />
        </Form.Item>
        <Form.Item name="macs" label={t("register.macs")} tooltip={t("register.macsHelp")}>
          <Select mode="tags" tokenSeparators={[",", " ", ";"]} open={false} />
        </Form.Item>
        {driver && (
          <>
            <Typography.Title level={5}>{t("node.bmc")}</Typography.Title>
            {required.map((p) => (
              <PropField key={p.name} p={p} />
            ))}
            {optional.length > 0 && (
              <Collapse
                size="small"
                items={[
                  {
                    key: "more",
                    label: t("register.optional", { count: optional.length }),
                    forceRender: true,
                    children: optional.map((p) => <PropField key={p.name} p={p} />),
                  },
                ]}
              />
            )}
          </>
        )}
      </Form>
    </Drawer>
  );
}
