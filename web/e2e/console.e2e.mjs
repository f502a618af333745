// The console in a real browser: Debian's chromium (headless, driven by playwright-core)
// against a live `ironworks serve` on a free port, with its own IRONWORKS_HOME.
//
// The cloud admin is refused with the API's sentence for a wrong password, logs in, sees the
// overview and the nodes page (three nodes enrolled through the API first), registers a node
// by form, imports ten by CSV (one bad row shown on its row and column, nothing enrolled until
// the file is fixed), manages and provides them all with the bulk actions, creates a flavor
// and a project with a member, and sees every page again in 中文 with no English label left.
// The member logs in, sees no admin menu, creates two hosts, sees them go active, stops one,
// deletes the other, and finds those actions in the audit log, in both languages.
// Screenshots of each page, in both languages, land in e2e-artifacts/ (or $E2E_ARTIFACTS).
// Any console error or failed request fails the run.
//
// Environment: IRONWORKS_CMD (the `ironworks` program; default ../.venv/bin/ironworks, then
// the one on PATH), CHROMIUM (default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    const token = await seed(base);
    browser = await chromium.launch({
      executablePath: browserPath,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run",
      ],
    });
    await asAdmin(browser, base, token);
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

/** Three nodes, a department, a user with no project yet and an active image. */
async function seed(base) {
  const { token } = await call(base, null, "POST", "/api/v1/auth/tokens", {
    username: "admin", password: ADMIN_PASSWORD,
  });
  for (const name of ["rack1-node1", "rack1-node2", "rack1-node3"]) {
    await call(base, token, "POST", "/v1/nodes", { name, driver: "fake-hardware" });
  }
  await call(base, token, "POST", "/api/v1/departments", { name: "research" });
  await call(base, token, "POST", "/api/v1/users", { name: "mia", password: MEMBER_PASSWORD });
  await call(base, token, "POST", "/api/v1/images", { name: "debian-12", disk_format: "raw" });
  const r = await fetch(`${base}/api/v1/images/debian-12/file`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(1 << 20),
  });
  if (!r.ok) throw new Error(`image upload: ${r.status} ${await r.text()}`);
  return token;
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
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function logIn(page, user, password) {
  await page.getByLabel(/User name|用户名/).fill(user);
  await page.getByLabel(/Password|密码/).fill(password);
  await page.getByRole("button", { name: /Log in|登\s*录/ }).click();
}

/** Pick `option` in the Ant Design select marked `testid`. */
async function choose(page, testid, option) {
  await page.getByTestId(testid).click();
  const escaped = option.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await page
    .locator(".ant-select-dropdown:visible .ant-select-item-option")
    .filter({ hasText: new RegExp(`^${escaped}(\\b|$)`) })
    .first()
    .click();
}

/** Wait, polling the API, until `done(nodes)` holds. */
async function untilNodes(base, token, done, what) {
  for (;;) {
    const { nodes } = await call(base, token, "GET", "/v1/nodes?fields=name,provision_state,target_provision_state&limit=1000");
    if (done(nodes)) return nodes;
    if (nodes.some((n) => /failed|error/.test(n.provision_state))) {
      throw new Error(`waiting for ${what}: ${JSON.stringify(nodes.filter((n) => /failed|error/.test(n.provision_state)))}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// The English strings of our catalogue that the Chinese one says otherwise: none may be left
// on a page shown in Chinese.
const catalogue = (lang) => JSON.parse(readFileSync(join(here, "..", "src", "i18n", `${lang}.json`), "utf8"));
function leaves(tree, prefix = "") {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === "object" ? leaves(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
}
const zhValues = new Map(leaves(catalogue("zh")));
const ENGLISH = new Set(
  leaves(catalogue("en"))
    .filter(([k, v]) => zhValues.get(k) !== v && /[A-Za-z]{3}/.test(v) && !v.includes("{{"))
    .map(([, v]) => v),
);

async function allChinese(page, where) {
  // the page itself (a toast left from before the switch is not a label of it)
  const text = await page.locator(".ant-layout").first().innerText();
  const left = [...new Set(text.split(/[\n\t]+/).map((l) => l.trim()).filter((l) => ENGLISH.has(l)))];
  check(left.length === 0, `${where}: every label is in Chinese${left.length ? ` (left: ${left.join(", ")})` : ""}`);
}

function csv(rows) {
  const header = "name,driver,bmc_address,bmc_username,bmc_password,macs,cpu_arch,cpus,memory_mb,local_gb";
  return [header, ...rows].join("\r\n") + "\r\n";
}
function csvRow(i, cpus = "8") {
  const hex = i.toString(16).padStart(2, "0");
  return `rack2-node${i},fake-hardware,10.0.2.${i},admin,pw-${i},52:54:00:02:00:${hex},x86_64,${cpus},16384,100`;
}

async function asAdmin(browser, base, token) {
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

  // Server-side filter: no node is active.
  await page.getByTestId("filter-provision-state").click();
  await page.keyboard.type("active");
  await page.keyboard.press("Enter");
  await page.getByText("No nodes match.").waitFor();
  check(true, "provision state filter asks the server");
  await page.getByTestId("filter-provision-state").hover();
  await page.locator("[data-testid=filter-provision-state] .ant-select-clear").click();
  await page.getByRole("cell", { name: "rack1-node1" }).waitFor();

  // Register a node by form: the hardware type's declared fields, then its page.
  await page.getByTestId("node-register").click();
  await page.getByLabel("Name", { exact: true }).fill("form-node1");
  await choose(page, "register-driver", "fake-hardware");
  await page.getByLabel("CPU cores").fill("8");
  await page.getByLabel("Memory (MiB)").fill("16384");
  await page.getByLabel("Local disk (GiB)").fill("100");
  await page.getByText(/^More settings/).click();
  check(await page.getByLabel("fake_password").getAttribute("type") === "password", "a secret is a password field");
  await shot(page, "node-register-en");
  await page.getByTestId("register-submit").click();
  await page.getByRole("heading", { name: "Node form-node1" }).waitFor();
  check(await page.getByTestId("node-fields").getByText("16 GiB").isVisible(), "the node page shows its memory");
  await shot(page, "node-detail-en");
  await page.getByRole("tab", { name: "Ports and port groups" }).click();
  await page.getByTestId("ports-table").waitFor();
  await page.getByRole("tab", { name: "History" }).click();
  await page.getByText(/Node created/).first().waitFor();
  check(true, "the node's history is shown");

  // Import ten nodes by CSV: one bad row, shown on its row and column; nothing enrolled.
  const bad = join(artifacts, "import-bad.csv");
  const good = join(artifacts, "import-good.csv");
  const rows = Array.from({ length: 10 }, (_, i) => csvRow(i + 1));
  writeFileSync(good, csv(rows));
  writeFileSync(bad, csv(rows.map((r, i) => (i === 5 ? csvRow(6, "many") : r))));
  await page.getByRole("menuitem", { name: "Nodes" }).click();
  await page.getByTestId("node-import").click();
  await page.locator(".ant-drawer-open input[type=file]").setInputFiles(bad);
  await page.getByTestId("import-errors").waitFor();
  const badCell = page.getByTestId("cell-error-7-cpus");
  check(await badCell.isVisible(), "the bad row's cell (row 7, column cpus) is marked");
  check(await page.getByTestId("import-submit").isDisabled(), "import refused while the file has errors");
  await shot(page, "node-import-errors-en");
  check((await call(base, token, "GET", "/v1/nodes?limit=1000")).nodes.length === 4, "nothing enrolled from the bad file");
  await page.locator(".ant-drawer-open input[type=file]").setInputFiles(good);
  await page.getByText("All 10 rows are valid: nothing has been enrolled yet.").waitFor();
  await page.getByTestId("import-submit").click();
  await page.getByText("10 nodes enrolled, 0 rows skipped").waitFor();
  check((await call(base, token, "GET", "/v1/nodes?limit=1000")).nodes.length === 14, "ten nodes enrolled from the fixed file");

  // Manage, then provide, every node with the bulk actions.
  await choose(page, "per-page", "50");
  await page.getByRole("cell", { name: "rack2-node10" }).waitFor();
  for (const [action, state] of [["Manage", "manageable"], ["Provide", "available"]]) {
    await page.locator("thead .ant-checkbox-input").check();
    await page.getByText("14 selected").waitFor();
    await page.getByTestId("bulk-menu").click();
    await page.getByRole("menuitem", { name: action }).click();
    await page.getByText("Done for 14 node(s)").waitFor();
    await untilNodes(base, token, (ns) => ns.every((n) => n.provision_state === state && !n.target_provision_state), state);
    check(true, `bulk ${action}: every node ${state}`);
  }
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.getByRole("cell", { name: "available" }).first().waitFor();
  await shot(page, "nodes-en");

  // A flavor, and a project with a member.
  await page.getByRole("menuitem", { name: "Flavors" }).click();
  await page.getByTestId("flavor-create").click();
  const flavorForm = page.locator(".ant-modal:visible");
  await flavorForm.getByLabel("Name", { exact: true }).fill("e2e.small");
  await flavorForm.getByLabel("CPU cores").fill("4");
  await flavorForm.getByLabel("Memory (MiB)").fill("8192");
  await flavorForm.getByLabel("Local disk (GiB)").fill("50");
  await flavorForm.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "e2e.small" }).waitFor();
  check(true, "flavor created");
  await shot(page, "flavors-en");

  await page.getByRole("menuitem", { name: "Projects" }).click();
  await page.getByTestId("project-create").click();
  const projectForm = page.locator(".ant-modal:visible");
  await projectForm.getByLabel("Name", { exact: true }).fill("physics");
  await choose(page, "project-department", "research");
  await projectForm.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "physics" }).waitFor();
  await page.getByTestId("members-physics").click();
  await choose(page, "member-user", "mia");
  await page.getByTestId("member-add").click();
  await page.locator(".ant-modal:visible").getByRole("cell", { name: "mia" }).waitFor();
  await page.locator(".ant-modal:visible .ant-modal-close").click();
  await page.getByText("mia (Project user)").waitFor();
  check(true, "project physics created with member mia");
  await shot(page, "projects-en");

  // An image: described, then its file uploaded with progress; active once checked.
  await page.getByRole("menuitem", { name: "Images" }).click();
  await page.getByTestId("image-create").click();
  const imageForm = page.locator(".ant-modal:visible");
  await imageForm.getByLabel("Name", { exact: true }).fill("alpine");
  await choose(page, "image-format", "raw");
  await imageForm.getByRole("button", { name: "Create" }).click();
  const alpine = page.getByRole("row").filter({ hasText: "alpine" });
  await alpine.getByText("waiting for data").waitFor();
  const file = join(tmpdir(), `alpine-${process.pid}.raw`);
  writeFileSync(file, Buffer.alloc(4 << 20));
  try {
    await alpine.locator("input[type=file]").setInputFiles(file);
    await alpine.getByText("active", { exact: true }).waitFor({ timeout: 120_000 });
  } finally {
    rmSync(file, { force: true });
  }
  check(true, "an image uploaded through the page is active");

  const pages = [
    ["Images", "images"], ["Availability zones", "zones"], ["Departments", "departments"],
    ["Users", "users"], ["Audit log", "audit"], ["License", "license"],
  ];
  for (const [label, name] of pages) {
    await page.getByRole("menuitem", { name: label }).click();
    await page.getByRole("heading", { name: label }).waitFor();
    await shot(page, `${name}-en`);
  }
  await page.getByRole("menuitem", { name: "Audit log" }).click();
  await page.getByRole("cell", { name: "project:create" }).first().waitFor();
  check(await page.getByRole("cell", { name: "flavor:create" }).first().isVisible(), "the audit log shows the admin's actions");

  // 中文: every page again, nothing left in English, remembered across a reload.
  await page.getByText("中文").click();
  await page.getByRole("heading", { name: "审计日志" }).waitFor();
  await page.getByRole("menuitem", { name: "节点" }).click();
  await page.getByRole("heading", { name: "节点" }).waitFor();
  check(await page.getByRole("columnheader", { name: "部署状态" }).isVisible(), "column in Chinese");
  await page.getByRole("cell", { name: "可用" }).nth(13).waitFor();
  check((await page.getByRole("cell", { name: "可用" }).count()) === 14, "states in Chinese");
  await allChinese(page, "nodes");
  await shot(page, "nodes-zh");
  await page.reload();
  await page.getByRole("heading", { name: "节点" }).waitFor();
  check(true, "the language is remembered across a reload");
  await page.getByRole("cell", { name: "form-node1" }).getByRole("link").click();
  await page.getByRole("heading", { name: "节点 form-node1" }).waitFor();
  await allChinese(page, "node detail");
  await shot(page, "node-detail-zh");
  const zhPages = [
    ["概览", "overview"], ["主机", "hosts"], ["规格", "flavors"], ["镜像", "images"], ["可用区", "zones"],
    ["部门", "departments"], ["项目", "projects"], ["用户", "users"], ["审计日志", "audit"], ["许可证", "license"],
  ];
  for (const [label, name] of zhPages) {
    await page.getByRole("menuitem", { name: label }).click();
    await page.getByRole("heading", { name: label }).waitFor();
    await page.waitForLoadState("networkidle");
    await allChinese(page, name);
    await shot(page, `${name}-zh`);
  }
  await page.getByRole("menuitem", { name: "节点" }).click();
  await page.getByTestId("node-import").click();
  await page.locator(".ant-drawer-open input[type=file]").setInputFiles(bad);
  await page.getByTestId("import-errors").waitFor();
  await shot(page, "node-import-errors-zh");
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
  const admin = ["Nodes", "Flavors", "Departments", "Users"];
  check(menu.includes("Hosts") && !menu.some((m) => admin.includes(m)), `a member's menu is ${menu}`);

  // Two hosts, built while the list follows them.
  await page.getByRole("menuitem", { name: "Hosts" }).click();
  await page.getByRole("heading", { name: "Hosts" }).waitFor();
  await page.getByTestId("host-create").click();
  await page.getByLabel("Name", { exact: true }).fill("web{n}");
  await page.getByLabel("How many").fill("2");
  await choose(page, "host-flavor", "e2e.small");
  await choose(page, "host-image", "debian-12");
  await page.getByLabel("SSH public key").fill("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e mia@lab");
  await shot(page, "host-create-en");
  await page.getByTestId("host-create-submit").click();
  await page.getByText("2 host(s) are being built").waitFor();
  for (const name of ["web1", "web2"]) {
    await page.getByRole("row").filter({ hasText: name }).getByText("active").waitFor({ timeout: 120_000 });
  }
  check(true, "both hosts went active");
  await shot(page, "hosts-en");

  // Stop one, delete the other, each confirmed.
  await page.getByRole("link", { name: "web1" }).click();
  await page.getByRole("heading", { name: "Host web1" }).waitFor();
  await shot(page, "host-detail-en");
  await page.getByTestId("host-actions").getByRole("button", { name: "Stop" }).click();
  await page.locator(".ant-popover:visible").getByRole("button", { name: "OK" }).click();
  await page.getByTestId("host-fields").getByText("stopped").waitFor({ timeout: 120_000 });
  check(true, "web1 stopped");
  await page.getByRole("link", { name: "← All hosts" }).click();
  await page.getByRole("link", { name: "web2" }).click();
  await page.getByRole("heading", { name: "Host web2" }).waitFor();
  await page.getByTestId("host-actions").getByRole("button", { name: "Delete" }).click();
  await page.locator(".ant-popover:visible").getByRole("button", { name: "OK" }).click();
  await page.getByRole("heading", { name: "Hosts" }).waitFor();
  await page.getByRole("link", { name: "web2" }).waitFor({ state: "detached", timeout: 120_000 });
  check(true, "web2 deleted");

  // The audit log shows those actions.
  await page.getByRole("menuitem", { name: "Audit log" }).click();
  for (const action of ["host:create", "host:power", "host:delete"]) {
    await page.getByRole("cell", { name: action }).first().waitFor();
  }
  check(true, "the audit log shows the member's host actions");
  await shot(page, "audit-member-en");

  await page.getByText("中文").click();
  await page.getByRole("heading", { name: "审计日志" }).waitFor();
  await allChinese(page, "member's audit log");
  await shot(page, "audit-member-zh");
  await page.getByRole("menuitem", { name: "主机" }).click();
  await page.getByRole("link", { name: "web1" }).click();
  await page.getByRole("heading", { name: "主机 web1" }).waitFor();
  await allChinese(page, "host detail");
  await shot(page, "host-detail-zh");
  await page.getByRole("menuitem", { name: "主机" }).click();
  await page.getByRole("heading", { name: "主机" }).waitFor();
  await shot(page, "hosts-member-zh");
  check(problems.length === 0, `no console error or failed request (${problems.join("; ")})`);
  await page.context().close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
