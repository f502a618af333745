// Create hosts: a project of the caller's, a flavor the project may use, an image (active,
// of the flavor's architecture), how many, an SSH key and user data. The API places them all
// or none (202); the list then follows their status.
import { useQueryClient } from "@tanstack/react-query";
import { App, Button, Drawer, Form, Input, InputNumber, Select, Space } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { formErrors } from "../actions";
import { api, unwrap } from "../api/client";
import { useMe } from "../auth";
import { formatMiB } from "../format";
import { options, useFlavors, useImages, useProjects } from "../lists";
import ErrorAlert from "./ErrorAlert";

type Values = {
  project?: string;
  name: string;
  count: number;
  flavor: string;
  image: string;
  availability_zone?: string;
  ssh_key?: string;
  user_data?: string;
};

const MAX_BATCH = 100;

export default function HostCreate({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const me = useMe();
  const [form] = Form.useForm<Values>();
  const project = Form.useWatch("project", form);
  const flavorName = Form.useWatch("flavor", form);
  const projects = useProjects(open);
  const flavors = useFlavors({}, open);
  // the API lists a project user the flavors their projects may use; a cloud admin sees all,
  // so the choice follows the project chosen here (its access list)
  const choosable = (flavors.data?.flavors ?? []).filter(
    (f) => f.is_public || !project || !f.projects || f.projects.includes(project),
  );
  const images = useImages(open);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const flavor = choosable.find((f) => f.name === flavorName);
  const usable = (images.data?.images ?? []).filter(
    (i) => i.kind === "os" && i.status === "active" && (!flavor?.cpu_arch || i.cpu_arch === flavor.cpu_arch),
  );
  const onlyProject = !me.data?.is_admin && projects.data?.projects.length === 1 ? projects.data.projects[0]?.name : undefined;

  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      const body = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== ""));
      const out = (await unwrap(api.POST("/api/v1/hosts", { body: body as never }))) as { hosts: { name: string }[] };
      void message.success(t("hostCreate.done", { count: out.hosts.length }));
      await qc.invalidateQueries({ queryKey: ["hosts"] });
      form.resetFields();
      onClose();
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
      title={t("hostCreate.title")}
      onClose={onClose}
      forceRender
      extra={
        <Space>
          <Button onClick={onClose}>{t("common.cancel")}</Button>
          <Button type="primary" loading={busy} onClick={() => form.submit()} data-testid="host-create-submit">
            {t("common.create")}
          </Button>
        </Space>
      }
    >
      <ErrorAlert error={error ?? flavors.error ?? images.error} />
      <Form<Values> form={form} layout="vertical" initialValues={{ count: 1 }} onFinish={(v) => void submit(v)}>
        <Form.Item name="project" label={t("hosts.project")} tooltip={t("hostCreate.projectHelp")} initialValue={onlyProject}>
          <Select allowClear options={options(projects.data?.projects)} placeholder={onlyProject} data-testid="host-project" />
        </Form.Item>
        <Form.Item name="name" label={t("hosts.name")} tooltip={t("hostCreate.nameHelp")} rules={[{ required: true, message: t("register.nameRequired") }]}>
          <Input />
        </Form.Item>
        <Form.Item name="count" label={t("hostCreate.count")}>
          <InputNumber min={1} max={MAX_BATCH} />
        </Form.Item>
        <Form.Item name="flavor" label={t("hosts.flavor")} rules={[{ required: true, message: t("hostCreate.flavorRequired") }]}>
          <Select
            loading={flavors.isLoading}
            data-testid="host-flavor"
            options={choosable.map((f) => ({
              value: f.name,
              label: `${f.name} — ${f.cpus} ${t("hostCreate.cores")}, ${formatMiB(f.memory_mb)}, ${f.local_gb} GiB${f.cpu_arch ? `, ${f.cpu_arch}` : ""}`,
            }))}
          />
        </Form.Item>
        <Form.Item name="image" label={t("hosts.image")} rules={[{ required: true, message: t("hostCreate.imageRequired") }]}>
          <Select loading={images.isLoading} data-testid="host-image" options={usable.map((i) => ({ value: i.name, label: `${i.name} (${i.cpu_arch})` }))} />
        </Form.Item>
        <Form.Item name="availability_zone" label={t("hosts.zone")}>
          <Input placeholder={t("hostCreate.anyZone")} />
        </Form.Item>
        <Form.Item name="ssh_key" label={t("hostCreate.sshKey")}>
          <Input.TextArea rows={3} placeholder="ssh-ed25519 AAAA… user@host" />
        </Form.Item>
        <Form.Item name="user_data" label={t("hostCreate.userData")}>
          <Input.TextArea rows={4} placeholder="#cloud-config" />
        </Form.Item>
      </Form>
    </Drawer>
  );
}
