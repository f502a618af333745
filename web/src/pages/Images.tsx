// Images: OS and deploy images per architecture; create one, then upload its data (with
// progress) or have the cloud import it from a URL (status importing, polled, then active or
// error); delete. Each button follows the permission table (image:*).
import { Button, Form, Input, Modal, Progress, Select, Space, Table, Tag, Typography, Upload } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { errorText, useAction } from "../actions";
import { api, unwrap } from "../api/client";
import type { Image } from "../api/types";
import { useMe } from "../auth";
import { formatBytes, useDate } from "../format";
import { options, useImages, useProjects } from "../lists";
import { allowed } from "../permissions";
import { putWithProgress } from "../upload";
import FormModal from "../components/FormModal";
import DeleteButton from "../components/DeleteButton";
import ErrorAlert from "./ErrorAlert";

type Values = { name: string; cpu_arch: string; disk_format: string; visibility?: string; project?: string };
const STATUS_COLORS: Record<string, string> = { active: "green", importing: "blue", error: "red" };

export default function Images() {
  const { t } = useTranslation();
  const date = useDate();
  const me = useMe();
  const can = (op: string) => allowed(me.data, op);
  const images = useImages(true, true);
  const projects = useProjects(can("project:read"));
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState<Image | null>(null);
  const [url, setUrl] = useState("");
  const [progress, setProgress] = useState<Record<string, number>>({});
  const [uploadError, setUploadError] = useState<unknown>(null);
  const [form] = Form.useForm<Values>();
  const refresh = [["images"]];

  const create = useAction(
    (v: Values) => unwrap(api.POST("/api/v1/images", { body: Object.fromEntries(Object.entries(v).filter(([, x]) => x)) as never })),
    { refresh, done: t("images.created"), onDone: () => setCreating(false) },
  );
  const remove = useAction(
    (i: Image) => unwrap(api.DELETE("/api/v1/images/{ident}", { params: { path: { ident: i.uuid } } })),
    { refresh, done: t("common.deleted") },
  );
  const startImport = useAction(
    ({ image, url }: { image: Image; url: string }) =>
      unwrap(api.POST("/api/v1/images/{ident}/import", { params: { path: { ident: image.uuid } }, body: { url } as never })),
    { refresh, done: t("images.importStarted"), onDone: () => setImporting(null) },
  );
  const upload = async (image: Image, file: File) => {
    setUploadError(null);
    setProgress((p) => ({ ...p, [image.uuid]: 0 }));
    try {
      await putWithProgress(`/api/v1/images/${image.uuid}/file`, file, (pct) =>
        setProgress((p) => ({ ...p, [image.uuid]: pct })),
      );
    } catch (e) {
      setUploadError(new Error(`${image.name}: ${errorText(e)}`));
    } finally {
      setProgress((p) => {
        const rest = { ...p };
        delete rest[image.uuid];
        return rest;
      });
      void images.refetch();
    }
  };

  const none = t("common.none");
  const columns: ColumnsType<Image> = [
    { title: t("images.name"), dataIndex: "name" },
    { title: t("images.kind"), dataIndex: "kind", render: (v: string) => t(`images.kinds.${v}`, { defaultValue: v }) },
    { title: t("node.arch"), dataIndex: "cpu_arch" },
    { title: t("images.format"), dataIndex: "disk_format", render: (v: string | null) => v ?? none },
    { title: t("images.visibility"), dataIndex: "visibility", render: (v: string) => t(`images.visibilities.${v}`, { defaultValue: v }) },
    {
      title: t("images.status"),
      dataIndex: "status",
      render: (v: string, i) =>
        progress[i.uuid] !== undefined ? (
          <Progress percent={progress[i.uuid]} size="small" style={{ width: 120 }} />
        ) : (
          <Tag color={STATUS_COLORS[v]} title={i.error ?? undefined}>
            {t(`images.statuses.${v}`, { defaultValue: v })}
          </Tag>
        ),
    },
    { title: t("images.size"), dataIndex: "size", render: (v: number | null) => formatBytes(v) },
    { title: t("images.owner"), dataIndex: "project", render: (v?: string | null) => v ?? none },
    { title: t("common.created"), dataIndex: "created_at", render: (v: string) => date(v) },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_, i) => (
        <Space>
          {can("image:update") && i.kind === "os" && i.status !== "importing" && (
            <>
              <Upload showUploadList={false} beforeUpload={(f) => { void upload(i, f); return false; }}>
                <Button size="small" disabled={progress[i.uuid] !== undefined}>{t("images.upload")}</Button>
              </Upload>
              <Button size="small" onClick={() => { setUrl(i.source_url ?? ""); setImporting(i); }}>
                {t("images.import")}
              </Button>
            </>
          )}
          {can("image:delete") && (
            <DeleteButton confirm={t("images.confirmDelete", { name: i.name })} onConfirm={() => remove.mutate(i)} />
          )}
        </Space>
      ),
    },
  ];

  return (
    <>
      <Typography.Title level={3}>{t("images.title")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        {can("image:create") && (
          <Button type="primary" onClick={() => { form.resetFields(); setCreating(true); }} data-testid="image-create">
            {t("images.create")}
          </Button>
        )}
        <Button onClick={() => void images.refetch()} loading={images.isFetching}>{t("common.refresh")}</Button>
      </Space>
      <ErrorAlert error={images.error ?? uploadError} />
      <Table<Image> rowKey="uuid" size="middle" loading={images.isLoading} columns={columns} dataSource={images.data?.images ?? []} pagination={false} locale={{ emptyText: t("images.empty") }} />
      <FormModal
        form={form}
        open={creating}
        title={t("images.create")}
        onCancel={() => setCreating(false)}
        mutation={create}
        okText={t("common.create")}
        initialValues={{ cpu_arch: "x86_64", disk_format: "qcow2" }}
      >
        <Typography.Paragraph type="secondary">{t("images.createHelp")}</Typography.Paragraph>
          <Form.Item name="name" label={t("images.name")} rules={[{ required: true, message: t("register.nameRequired") }]}>
            <Input />
          </Form.Item>
          <Form.Item name="cpu_arch" label={t("node.arch")}>
            <Select options={["x86_64", "aarch64"].map((a) => ({ value: a, label: a }))} />
          </Form.Item>
          <Form.Item name="disk_format" label={t("images.format")}>
            <Select options={["qcow2", "raw"].map((a) => ({ value: a, label: a }))} data-testid="image-format" />
          </Form.Item>
          <Form.Item name="visibility" label={t("images.visibility")}>
            <Select allowClear options={["public", "private", "shared"].map((v) => ({ value: v, label: t(`images.visibilities.${v}`) }))} />
          </Form.Item>
          <Form.Item name="project" label={t("images.owner")}>
            <Select allowClear options={options(projects.data?.projects)} />
          </Form.Item>
      </FormModal>
      <Modal
        open={importing !== null}
        title={t("images.importOf", { name: importing?.name ?? "" })}
        onCancel={() => setImporting(null)}
        onOk={() => importing && startImport.mutate({ image: importing, url })}
        okText={t("images.import")}
        cancelText={t("common.cancel")}
        confirmLoading={startImport.isPending}
      >
        <Typography.Paragraph type="secondary">{t("images.importHelp")}</Typography.Paragraph>
        <Input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://" />
      </Modal>
    </>
  );
}
