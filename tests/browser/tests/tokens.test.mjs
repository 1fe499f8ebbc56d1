// An account administrator manages API tokens in a real (headless) Chromium: sign in, the Add
// wizard, show and copy (each an audited reveal), edit, disable (refused by /v1/authorize),
// enable, the audit trail, filters, delete, CSRF, sign-out — with screenshots at 1280 and
// 390 px and a check that every control has an accessible name.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Tollgate, request, unnamedControls, fitsWidth, PNG, artifacts } from "./harness.mjs";

const VALUE = /^idt:TKN-\d{4}-\d{4}:[A-Za-z0-9]{64}$/;
const TOKENS = "/administration/settings/api-tokens";

let t;
let page;
let account;
let admin;
let value;
let tokenId;
const unnamed = [];

async function shot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function checkNames(where) {
  for (const control of await unnamedControls(page)) unnamed.push(`${where}: ${control}`);
}

async function authorize(token, path = "/public/v1/billing/invoices") {
  const res = await request(t.base, "/v1/authorize", {
    headers: { Authorization: `Bearer ${token}`, "X-Forwarded-Proto": "https", "X-Forwarded-Uri": path },
  });
  return res.status;
}

describe("the API tokens pages", () => {
  before(async () => {
    t = await Tollgate.start();
    account = t.cli(["accounts", "create", "--name", "Acme Robotics", "--type", "client", "--json"]);
    admin = t.cli(["users", "create", "--account", account.id, "--name", "Jane Doe", "--admin", "--json"]);
    page = await t.newPage(1280);
  });

  after(async () => {
    if (t) await t.stop();
  });

  it("signs in with a single-use link and shows the empty list", async () => {
    const link = t.loginUrl(admin.id);
    const first = await page.goto(link);
    const csp = first.headers()["content-security-policy"];
    assert.ok(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), csp);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(`**${TOKENS}`);
    await page.getByRole("heading", { name: "No API tokens yet" }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "__Host-tollgate-session");
    assert.ok(session, "session cookie set");
    assert.equal(session.secure, true);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Lax");
    await shot("list-empty-1280");
    // The link works once.
    const other = await t.newPage();
    await other.goto(link);
    await other.getByRole("button", { name: "Continue" }).click();
    await other.getByText("already been used").waitFor();
    await other.context().close();
  });

  it("creates a token through the wizard and shows its value", async () => {
    await page.getByRole("link", { name: "Add", exact: true }).click();
    await page.getByRole("heading", { name: "Add API token" }).waitFor();
    await checkNames("wizard general");
    await page.setInputFiles("#logo", { name: "robot.png", mimeType: "image/png", buffer: PNG });
    await page.getByLabel("Name", { exact: true }).fill("CRM robot");
    await page.getByLabel("Description").fill("Syncs <b>customers</b> & invoices");
    await shot("wizard-general-1280");
    await page.getByRole("button", { name: "Next" }).first().click();
    // Modules, searchable.
    const search = page.getByLabel("Search modules");
    await search.fill("bill");
    assert.equal(await page.locator("#module-list li:not([hidden])").count(), 1);
    await page.getByLabel(/Billing/).check();
    await search.fill("");
    await page.getByLabel(/Helpdesk/).check();
    await checkNames("wizard modules");
    await shot("wizard-modules-1280");
    await page.locator('[data-step="2"]').getByRole("button", { name: "Next" }).click();
    // Overview.
    const overview = page.locator('[data-step="3"]');
    assert.equal(await overview.locator('[data-summary="name"]').textContent(), "CRM robot");
    assert.equal(await overview.locator('[data-summary="modules"]').textContent(), "Billing, Helpdesk");
    assert.equal(await overview.locator('[data-summary="logo"]').textContent(), "robot.png");
    await shot("wizard-overview-1280");
    await overview.getByRole("button", { name: "Add" }).click();
    await page.getByRole("heading", { name: "API token added" }).waitFor();
    const field = page.locator("#token-value");
    assert.equal(await field.getAttribute("type"), "password");
    await page.getByRole("button", { name: "Show" }).click();
    assert.equal(await field.getAttribute("type"), "text");
    value = await field.inputValue();
    assert.match(value, VALUE);
    tokenId = value.split(":")[1];
    await page.getByRole("button", { name: "Copy" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
    await page.getByRole("button", { name: "Hide" }).click();
    assert.equal(await field.getAttribute("type"), "password");
    await shot("wizard-summary-1280");
    assert.equal(await authorize(value), 200);
    assert.equal(await authorize(value, "/public/v1/catalog/products"), 403);
  });

  it("shows the details page, and every show or copy is an audited reveal", async () => {
    await page.getByRole("link", { name: "View details" }).click();
    await page.getByRole("heading", { name: "CRM robot", level: 1 }).waitFor();
    // What the user typed is text, never markup.
    await page.locator(".tab-panel").getByText("Syncs <b>customers</b> & invoices").waitFor();
    assert.equal(await page.locator("img.avatar.large").count(), 1);
    await checkNames("details general");
    await shot("details-general-1280");
    const field = page.locator("#token-value");
    assert.notEqual(await field.inputValue(), value, "the value is not in the page until shown");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("button", { name: "Hide" }).waitFor();
    assert.equal(await field.inputValue(), value);
    await page.getByRole("button", { name: "Hide" }).click();
    assert.notEqual(await field.inputValue(), value);
    await page.locator("[data-copy-secret]").click();
    await page.getByText("API token copied").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
    await page.getByRole("link", { name: "Audit trail" }).last().click();
    await page.waitForURL(/tab=audit/);
    const reveals = page.locator("tbody tr", { hasText: "revealed" });
    assert.equal(await reveals.count(), 2, "one reveal record for the show, one for the copy");
    assert.ok((await reveals.first().textContent()).includes("Jane Doe"));
  });

  it("edits the name and modules in the dialog", async () => {
    await page.getByRole("link", { name: "Edit CRM robot" }).click();
    const dialog = page.locator("#edit-dialog");
    await dialog.waitFor({ state: "visible" });
    await checkNames("edit dialog");
    await shot("details-edit-1280");
    await dialog.getByLabel("Name", { exact: true }).fill("CRM robot v2");
    await dialog.getByLabel(/Helpdesk/).uncheck();
    await dialog.getByLabel(/^Audit/).check();
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Changes to “CRM robot v2” were saved.").waitFor();
    await page.getByRole("link", { name: "Modules", exact: true }).click();
    const panel = page.locator(".tab-panel");
    await panel.getByText("Billing").first().waitFor();
    assert.equal(await panel.getByText("Helpdesk").count(), 0);
    assert.ok((await panel.textContent()).includes("Audit"));
    assert.equal(await authorize(value, "/public/v1/helpdesk/cases"), 403);
    assert.equal(await authorize(value, "/public/v1/audit/records"), 200);
  });

  it("disables (refused by /v1/authorize) and enables with confirmations", async () => {
    await page.getByRole("link", { name: "Disable CRM robot v2" }).click();
    const confirm = page.locator("#confirm-dialog");
    await confirm.waitFor({ state: "visible" });
    assert.ok((await confirm.textContent()).includes("CRM robot v2"));
    await checkNames("confirm dialog");
    await confirm.getByRole("button", { name: "Disable" }).click();
    await page.getByText("“CRM robot v2” was disabled.").waitFor();
    assert.equal(await page.locator(".details-head .badge").textContent(), "Disabled");
    assert.equal(await authorize(value), 401);
    await page.getByRole("link", { name: "Enable CRM robot v2" }).click();
    await page.locator("#confirm-dialog").getByRole("button", { name: "Enable" }).click();
    await page.getByText("“CRM robot v2” was enabled.").waitFor();
    assert.equal(await page.locator(".details-head .badge").textContent(), "Active");
    assert.equal(await authorize(value), 200);
  });

  it("opens the audit trail tab and a record's details", async () => {
    await page.getByRole("link", { name: "Audit trail" }).last().click();
    await page.waitForURL(/tab=audit/);
    const summaries = (await page.locator("tbody td[data-label=Summary]").allTextContents()).join("\n");
    for (const verb of ["created", "updated", "disabled", "enabled", "revealed the value of"]) {
      assert.ok(summaries.includes(`Jane Doe ${verb} API token`), `${verb} in:\n${summaries}`);
    }
    const disabledRow = page.locator("tbody tr", { hasText: "disabled API token" });
    assert.equal(await disabledRow.count(), 1);
    await disabledRow.getByRole("button", { name: /Details of record/ }).click();
    const dialog = page.locator("dialog.record[open]");
    await dialog.waitFor({ state: "visible" });
    const text = await dialog.textContent();
    assert.ok(text.includes("platform.accounts.api-token.disabled"), text);
    assert.ok(text.includes(admin.id), text);
    assert.ok(!text.includes(value.split(":")[2]), "no secret in audit records");
    await checkNames("record dialog");
    await shot("details-audit-record-1280");
    await dialog.getByRole("button", { name: "Close" }).click();
    await page.getByRole("link", { name: "Audit trail" }).first().click();
    await page.getByRole("heading", { name: "Audit trail" }).waitFor();
    const rows = await page.locator("tbody tr").count();
    assert.ok(rows >= 6, `${rows} records on the audit trail page`);
  });

  it("filters and sorts the list", async () => {
    t.cli(["tokens", "create", "--account", account.id, "--name", "Billing exporter", "--modules", "billing", "--created-by", admin.id]);
    await page.goto(`${t.base}${TOKENS}`);
    await page.getByRole("link", { name: "Billing exporter", exact: true }).waitFor();
    await checkNames("list");
    await shot("list-1280");
    await page.getByLabel("Name", { exact: true }).fill("EXPORT");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/name=EXPORT/);
    assert.equal(await page.locator("tbody tr").count(), 1);
    await page.getByRole("link", { name: "Billing exporter", exact: true }).waitFor();
    await page.getByLabel("Status").selectOption("Disabled");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("heading", { name: "No API tokens match these filters" }).waitFor();
    await page.getByRole("link", { name: "Clear filters" }).click();
    await page.getByRole("link", { name: "API token", exact: true }).click();
    await page.waitForURL(/order=name/);
    const names = await page.locator("tbody a.name").allTextContents();
    assert.deepEqual(names, ["Billing exporter", "CRM robot v2"]);
    assert.equal(await page.locator("tbody tr").first().locator("td").nth(1).textContent(), "Billing");
    assert.equal(await page.locator("tbody tr").nth(1).locator("td").nth(1).textContent(), "2 modules");
    await page.getByLabel("Rows per page").selectOption("25");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/size=25/);
  });

  it("refuses a form post without the CSRF token", async () => {
    const res = await page.context().request.post(`${t.base}${TOKENS}/${tokenId}/disable`, {
      form: { something: "else" },
      maxRedirects: 0,
    });
    assert.equal(res.status(), 403);
    assert.ok((await res.text()).includes("Form expired"));
    const forged = await page.context().request.post(`${t.base}${TOKENS}/${tokenId}/reveal`, {
      headers: { "X-CSRF-Token": "forged" },
    });
    assert.equal(forged.status(), 403);
    assert.equal(await authorize(value), 200, "nothing changed");
  });

  it("deletes with a confirmation, and the token is gone", async () => {
    await page.goto(`${t.base}${TOKENS}`);
    await page.getByRole("link", { name: "Delete CRM robot v2" }).click();
    await page.locator("#confirm-dialog").getByRole("button", { name: "Delete" }).click();
    await page.getByText("The API token was deleted.").waitFor();
    assert.equal(await page.getByRole("link", { name: "CRM robot v2", exact: true }).count(), 0);
    assert.equal(await authorize(value), 401);
    const gone = await page.goto(`${t.base}${TOKENS}/${tokenId}`);
    assert.equal(gone.status(), 404);
  });

  it("works at 390 px wide", async () => {
    const narrow = await t.newPage(390);
    await narrow.context().addCookies(await page.context().cookies());
    for (const [name, path] of [
      ["list-390", TOKENS],
      ["wizard-390", `${TOKENS}/new`],
    ]) {
      await narrow.goto(`${t.base}${path}`);
      assert.ok(await fitsWidth(narrow), `${name} fits 390 px`);
      await narrow.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    }
    await narrow.getByRole("link", { name: "API tokens" }).first().click();
    await narrow.getByRole("link", { name: "Billing exporter", exact: true }).click();
    await narrow.getByRole("heading", { name: "Billing exporter", level: 1 }).waitFor();
    assert.ok(await fitsWidth(narrow), "details fit 390 px");
    await narrow.screenshot({ path: join(artifacts, "details-390.png"), fullPage: true });
    assert.deepEqual(narrow.problems, []);
    await narrow.context().close();
  });

  it("works without JavaScript: stacked wizard, confirmation and edit pages", async () => {
    const context = await t.browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false });
    await context.addCookies(await page.context().cookies());
    const plain = await context.newPage();
    await plain.goto(`${t.base}${TOKENS}/new`);
    // Every step is on the page at once; the Add button submits the whole form.
    await plain.getByLabel("Name", { exact: true }).fill("No script robot");
    await plain.getByLabel(/Billing/).check();
    await plain.getByRole("button", { name: "Add" }).click();
    await plain.getByRole("heading", { name: "API token added" }).waitFor();
    assert.match(await plain.locator("#token-value").inputValue(), VALUE);
    await plain.getByRole("link", { name: "View details" }).click();
    await plain.getByRole("link", { name: "Disable No script robot" }).click();
    await plain.getByRole("heading", { name: "Disable API token" }).waitFor();
    await plain.getByRole("button", { name: "Disable" }).click();
    await plain.getByText("“No script robot” was disabled.").waitFor();
    await plain.getByRole("link", { name: "Edit No script robot" }).click();
    await plain.getByRole("heading", { name: "Edit API token" }).waitFor();
    await plain.getByLabel("Name", { exact: true }).fill("No script robot 2");
    await plain.getByRole("button", { name: "Save" }).click();
    await plain.getByText("Changes to “No script robot 2” were saved.").waitFor();
    await context.close();
  });

  it("refuses administrators of a disabled account, and signs out", async () => {
    const other = t.cli(["accounts", "create", "--name", "Dormant Ltd", "--type", "vendor", "--json"]);
    const boss = t.cli(["users", "create", "--account", other.id, "--name", "Sam Boss", "--admin", "--json"]);
    const link = t.loginUrl(boss.id);
    t.cli(["accounts", "set-status", other.id, "disabled"]);
    const refused = await t.newPage();
    const res = await refused.goto(link);
    assert.equal(res.status(), 403);
    await refused.getByText("is disabled").waitFor();
    await refused.context().close();

    await page.goto(`${t.base}${TOKENS}`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Signed out" }).waitFor();
    const after = await page.goto(`${t.base}${TOKENS}`);
    assert.equal(after.status(), 401);
  });

  it("gave every control an accessible name and raised no script or CSP errors", () => {
    assert.deepEqual(unnamed, []);
    assert.deepEqual(page.problems, []);
    writeFileSync(join(artifacts, "README.txt"), "Screenshots from the browser tests (tests/browser).\n");
  });
});
