// Batch import: choose a CSV or XLSX file, see its rows, have the server check them (a dry
// run: nothing is enrolled) and every error shown on its row and column; import once the
// file is clean (or its valid rows only, on purpose).
import { useQueryClient } from "@tanstack/react-query";
import { Alert, App, Button, Drawer, Space, Table, Tooltip, Typography, Upload } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { errorText } from "../actions";
import { api } from "../api/client";
import type { ImportReport, RowError } from "../api/types";
import { badRows, cellKey, parsePreview, placeErrors, type Preview, type PreviewRow } from "../importPreview";

type Check = { ok: true; valid: number } | { ok: false; detail: string; errors: RowError[] };

async function send(file: File, query: { dry_run?: boolean; skip_invalid?: boolean }) {
  const form = new FormData();
  form.append("file", file, file.name);
  const { data, error, response } = await api.POST("/api/v1/nodes/import", {
    params: { query },
    body: form as never,
  });
  return { data: data as (ImportReport & { valid?: number }) | undefined, error: error as { detail?: string; errors?: RowError[] } | undefined, response };
}

export default function NodeImport({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [check, setCheck] = useState<Check | null>(null);
  const [busy, setBusy] = useState(false);

  const reset = () => {
    setFile(null);
    setPreview(null);
    setCheck(null);
  };

  const dryRun = async (f: File) => {
    setBusy(true);
    try {
      const r = await send(f, { dry_run: true });
      const found = r.data?.errors ?? [];
      if (r.response.ok && found.length === 0) setCheck({ ok: true, valid: r.data?.valid ?? 0 });
      else if (r.response.ok)
        setCheck({ ok: false, detail: t("import.errors", { count: found.length, rows: badRows(found) }), errors: found });
      else if (r.error?.errors) setCheck({ ok: false, detail: r.error.detail ?? "", errors: r.error.errors });
      else setCheck({ ok: false, detail: r.error?.detail ?? `HTTP ${r.response.status}`, errors: [] });
    } catch (e) {
      setCheck({ ok: false, detail: errorText(e), errors: [] });
    } finally {
      setBusy(false);
    }
  };

  const choose = async (f: File) => {
    setFile(f);
    setCheck(null);
    const csv = !/\.xlsx$/i.test(f.name);
    setPreview(csv ? parsePreview(await f.text()) : null);
    await dryRun(f);
  };

  const enrol = async (skipInvalid: boolean) => {
    if (!file) return;
    setBusy(true);
    try {
      const r = await send(file, skipInvalid ? { skip_invalid: true } : {});
      if (!r.response.ok) {
        setCheck({ ok: false, detail: r.error?.detail ?? `HTTP ${r.response.status}`, errors: r.error?.errors ?? [] });
        return;
      }
      void message.success(t("import.done", { count: r.data?.created.length ?? 0, skipped: r.data?.skipped ?? 0 }));
      await qc.invalidateQueries({ queryKey: ["nodes"] });
      reset();
      onClose();
    } finally {
      setBusy(false);
    }
  };

  const errors = useMemo(() => (check && !check.ok ? check.errors : []), [check]);
  const placed = useMemo(() => placeErrors(preview, errors), [preview, errors]);
  const bad = badRows(errors);
  const total = preview?.rows.length;

  const columns: ColumnsType<PreviewRow> = [
    { title: t("import.row"), dataIndex: "row", width: 64, fixed: "left" },
    ...(preview?.header ?? []).map((name) => ({
      title: name,
      key: name,
      render: (_: unknown, r: PreviewRow) => {
        const msgs = placed.cells.get(cellKey(r.row, name));
        const value = /password/i.test(name) && r.cells[name] ? "******" : r.cells[name];
        return msgs ? (
          <Tooltip title={msgs.join("; ")}>
            <span data-testid={`cell-error-${r.row}-${name}`} style={{ color: "#cf1322", fontWeight: 600 }}>
              {value || t("import.empty")} ⚠
            </span>
          </Tooltip>
        ) : (
          value
        );
      },
    })),
    {
      title: t("import.problems"),
      key: "problems",
      render: (_: unknown, r: PreviewRow) => {
        const msgs = [
          ...(placed.rows.get(r.row) ?? []),
          ...(preview?.header ?? []).flatMap((c) => (placed.cells.get(cellKey(r.row, c)) ?? []).map((m) => `${c}: ${m}`)),
        ];
        return msgs.length ? <Typography.Text type="danger">{msgs.join("; ")}</Typography.Text> : null;
      },
    },
  ];

  return (
    <Drawer
      open={open}
      width="min(1100px, 100vw)"
      title={t("import.title")}
      onClose={() => {
        reset();
        onClose();
      }}
      extra={
        <Space>
          {check && !check.ok && check.errors.length > 0 && total !== undefined && bad < total && (
            <Button onClick={() => void enrol(true)} loading={busy}>
              {t("import.validOnly", { count: total - bad })}
            </Button>
          )}
          <Button type="primary" disabled={!check?.ok} loading={busy} onClick={() => void enrol(false)} data-testid="import-submit">
            {check?.ok ? t("import.submit", { count: check.valid }) : t("import.open")}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t("import.help")}</Typography.Paragraph>
      <Upload
        accept=".csv,.xlsx,text/csv"
        maxCount={1}
        showUploadList={false}
        beforeUpload={(f) => {
          void choose(f);
          return false;
        }}
      >
        <Button data-testid="import-choose">{file ? t("import.another") : t("import.choose")}</Button>
      </Upload>
      {file && <Typography.Text style={{ marginLeft: 12 }}>{file.name}</Typography.Text>}
      <div style={{ marginTop: 16 }}>
        {check?.ok && <Alert type="success" showIcon message={t("import.clean", { count: check.valid })} />}
        {check && !check.ok && (
          <Alert
            type="error"
            showIcon
            data-testid="import-errors"
            message={check.detail}
            description={
              placed.file.length > 0 || !preview ? (
                <ul style={{ margin: 0 }}>
                  {(preview ? placed.file : errors.map((e) => `${t("import.row")} ${e.row ?? "—"}, ${e.column ?? "—"}: ${e.message}`)).map((m, i) => (
                    <li key={i}>{m}</li>
                  ))}
                </ul>
              ) : undefined
            }
          />
        )}
      </div>
      {preview && (
        <Table<PreviewRow>
          style={{ marginTop: 16 }}
          rowKey="row"
          size="small"
          data-testid="import-preview"
          loading={busy}
          scroll={{ x: "max-content" }}
          columns={columns}
          dataSource={preview.rows}
          onRow={(r) => ({
            style:
              placed.rows.has(r.row) || preview.header.some((c) => placed.cells.has(cellKey(r.row, c)))
                ? { background: "#fff1f0" }
                : {},
          })}
          pagination={{ pageSize: 50, hideOnSinglePage: true }}
        />
      )}
    </Drawer>
  );
}
