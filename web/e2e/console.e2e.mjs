// The console in a real browser: Debian's chromium (headless, driven by playwright-core)
// against a live `ironworks serve` on a free port, with its own IRONWORKS_HOME.
//
// The cloud admin is refused with the API's sentence for a wrong password, logs in, sees the
// overview and the nodes page (nodes enrolled through the API first), switches to 中文 and
// sees the labels translated; a member sees no admin menu. Screenshots of each page land in
// e2e-artifacts/ (or $E2E_ARTIFACTS). Any console error or failed request fails the run.
//
// Environment: IRONWORKS_CMD (the `ironworks` program; default ../.venv/bin/ironworks, then
// the one on PATH), CHROMIUM (default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const artifacts = resolve(process.env.E2E_ARTIFACTS ?? join(here, "..", "e2e-artifacts"));
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const venvCmd = join(root, ".venv", "bin", "ironworks");
const ironworks = process.env.IRONWORKS_CMD ?? (existsSync(venvCmd) ? venvCmd : "ironworks");
const ADMIN_PASSWORD = "E2e-Adm1n-Passw0rd";
const MEMBER_PASSWORD = "E2e-Memb3r-Passw0rd";

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitUp(base, server, seconds = 90) {
  for (let i = 0; i < seconds * 4; i++) {
    if (server.exitCode !== null) throw new Error(`ironworks serve exited with ${server.exitCode}`);
    try {
      if ((await fetch(`${base}/v1`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`ironworks serve did not answer on ${base} within ${seconds} s`);
}

async function call(base, token, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      "X-OpenStack-Ironic-API-Version": "latest",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), "ironworks-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(ironworks, ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    env: {
      ...process.env,
      IRONWORKS_HOME: home,
      IRONWORKS_AUTH__ADMIN_PASSWORD: ADMIN_PASSWORD,
      IRONWORKS_AUTH__NOAUTH: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let serverLog = "";
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  let browser;
  try {
    await waitUp(base, server);
    await seed(base);
    browser = await chromium.launch({
      executablePath: browserPath,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run",
      ],
    });
    await asAdmin(browser, base);
    await asMember(browser, base);
    console.log(`screenshots in ${artifacts}`);
  } catch (e) {
    console.error(serverLog.split("\n").slice(-40).join("\n"));
    throw e;
  } finally {
    await browser?.close();
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
    rmSync(home, { recursive: true, force: true });
  }
}

/** Three nodes, a department with a project, and a member in it. */
async function seed(base) {
  const { token } = await call(base, null, "POST", "/api/v1/auth/tokens", {
    username: "admin", password: ADMIN_PASSWORD,
  });
  for (const name of ["rack1-node1", "rack1-node2", "rack1-node3"]) {
    await call(base, token, "POST", "/v1/nodes", { name, driver: "fake-hardware" });
  }
  await call(base, token, "POST", "/api/v1/departments", { name: "research" });
  await call(base, token, "POST", "/api/v1/projects", { name: "genomics", department: "research" });
  await call(base, token, "POST", "/api/v1/users", { name: "mia", password: MEMBER_PASSWORD });
  await call(base, token, "PUT", "/api/v1/projects/genomics/members/mia", { role: "member" });
}

/** A page that fails the run on any console error or failed request. */
async function watchedPage(browser, problems) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function logIn(page, user, password) {
  await page.getByLabel(/User name|用户名/).fill(user);
  await page.getByLabel(/Password|密码/).fill(password);
  await page.getByRole("button", { name: /Log in|登\s*录/ }).click();
}

async function asAdmin(browser, base) {
  const problems = [];
  const page = await watchedPage(browser, problems);
  // A browser asking for / is sent to the console; API clients still get the version document.
  await page.goto(`${base}/`);
  await page.waitForURL(/\/console\/login$/);
  check((await (await fetch(`${base}/`)).json()).name === "OpenStack Ironic API", "GET / for API clients");
  await page.evaluate(() => localStorage.setItem("ironworks.lang", "en"));
  await page.reload();
  await shot(page, "login-en");

  // A wrong password: the API's own sentence, not "Request failed".
  const expect401 = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/tokens"));
  await logIn(page, "admin", "wrong-password");
  const refused = await expect401;
  const sentence = (await refused.json()).detail;
  await page.getByRole("alert").filter({ hasText: sentence }).waitFor();
  check(refused.status() === 401 && sentence.length > 0, `wrong password shows "${sentence}"`);
  await shot(page, "login-error-en");
  problems.length = 0; // the refused log-in's 401 is logged by the browser on purpose

  await logIn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  await page.locator(".ant-statistic").filter({ hasText: "Nodes" }).getByText("3").waitFor();
  check(true, "the overview counts three nodes");
  await shot(page, "overview-en");

  await page.getByRole("menuitem", { name: "Nodes" }).click();
  await page.getByRole("heading", { name: "Nodes" }).waitFor();
  await page.getByRole("cell", { name: "rack1-node3" }).waitFor();
  check((await page.getByRole("cell", { name: /^rack1-node\d$/ }).count()) === 3, "three nodes listed");
  check(await page.getByRole("columnheader", { name: "Provision state" }).isVisible(), "column in English");
  await shot(page, "nodes-en");

  // Server-side filter: no node is active.
  await page.getByTestId("filter-provision-state").click();
  await page.keyboard.type("active");
  await page.keyboard.press("Enter");
  await page.getByText("No nodes match.").waitFor();
  check(true, "provision state filter asks the server");
  await page.getByTestId("filter-provision-state").hover();
  await page.locator("[data-testid=filter-provision-state] .ant-select-clear").click();
  await page.getByRole("cell", { name: "rack1-node1" }).waitFor();

  await page.getByText("中文").click();
  await page.getByRole("heading", { name: "节点" }).waitFor();
  check(await page.getByRole("columnheader", { name: "部署状态" }).isVisible(), "column in Chinese");
  check(await page.getByRole("menuitem", { name: "主机" }).isVisible(), "menu in Chinese");
  check((await page.getByRole("cell", { name: "注册" }).count()) === 3, "states in Chinese");
  await shot(page, "nodes-zh");
  await page.reload();
  await page.getByRole("heading", { name: "节点" }).waitFor();
  check(true, "the language is remembered across a reload");

  await page.getByRole("menuitem", { name: "主机" }).click();
  await page.getByRole("heading", { name: "主机" }).waitFor();
  await shot(page, "hosts-zh");
  await page.getByRole("menuitem", { name: "概览" }).click();
  await page.getByRole("heading", { name: "概览" }).waitFor();
  await shot(page, "overview-zh");
  check(problems.length === 0, `no console error or failed request (${problems.join("; ")})`);
  await page.context().close();
}

async function asMember(browser, base) {
  const problems = [];
  const page = await watchedPage(browser, problems);
  await page.goto(`${base}/console/`);
  await page.getByLabel(/User name|用户名/).waitFor(); // the page is loaded before the reload
  await page.evaluate(() => localStorage.setItem("ironworks.lang", "en"));
  await page.reload();
  await logIn(page, "mia", MEMBER_PASSWORD);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  const menu = await page.getByTestId("main-menu").getByRole("menuitem").allTextContents();
  check(JSON.stringify(menu) === JSON.stringify(["Overview", "Hosts"]), `a member's menu is ${menu}`);
  await page.getByRole("menuitem", { name: "Hosts" }).click();
  await page.getByRole("heading", { name: "Hosts" }).waitFor();
  await shot(page, "hosts-member-en");
  check(problems.length === 0, `no console error or failed request (${problems.join("; ")})`);
  await page.context().close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
