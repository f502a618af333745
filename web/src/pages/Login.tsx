// Log-in: the API's own sentence on failure (wrong password, locked account, expired password).
import { Alert, Button, Card, Form, Input, Segmented } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { logIn } from "../auth";
import { LANGUAGES, setLanguage, type Language } from "../i18n";

interface Fields {
  username: string;
  password: string;
}

export default function Login() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const from = (location.state as { from?: string } | null)?.from ?? "/";

  async function submit(values: Fields) {
    setBusy(true);
    setError(null);
    try {
      await logIn(values.username, values.password);
      navigate(from === "/login" ? "/" : from, { replace: true });
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div style={{ display: "flex", justifyContent: "center", paddingTop: "12vh" }}>
      <Card
        title={t("login.title")}
        style={{ width: 380 }}
        extra={
          <Segmented
            size="small"
            value={i18n.language}
            options={Object.entries(LANGUAGES).map(([value, label]) => ({ value, label }))}
            onChange={(v) => setLanguage(v as Language)}
          />
        }
      >
        {error && (
          <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} role="alert" />
        )}
        <Form<Fields> layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            label={t("login.username")}
            name="username"
            rules={[{ required: true, message: t("login.usernameRequired") }]}
          >
            <Input autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item
            label={t("login.password")}
            name="password"
            rules={[{ required: true, message: t("login.passwordRequired") }]}
          >
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t("login.submit")}
          </Button>
        </Form>
      </Card>
    </div>
  );
}
