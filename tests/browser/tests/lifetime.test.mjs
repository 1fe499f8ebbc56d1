// Tokens that end, in a real (headless) Chromium: the Expiration choice and the self-rotation
// switch in the wizard and the Edit dialog, the account policy's refusal next to the field,
// the expiry in the list and on the details page ("expires in N days", the Expired badge),
// Rotate with a grace period and the new value shown once, and the list page's banner for
// soon-expiring tokens, retired values presented and leaked values reported (SPEC §9) — at 1280 and 390 px, with and
// without the script.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Tollgate, request, unnamedControls, fitsWidth, artifacts } from "./harness.mjs";

const VALUE = /^idt:TKN-\d{4}-\d{4}:[A-Za-z0-9]{64}$/;
const TOKENS = "/administration/settings/api-tokens";
const DAY = 86_400_000;

let t;
let page;
let account;
let admin;
let robot; // { id, value } of the token made in the wizard
const unnamed = [];

/** A UTC date `days` from now, as a date input holds it. */
const isoDate = (days) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

async function shot(name, on = page) {
  await on.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function checkNames(where, on = page) {
  for (const control of await unnamedControls(on)) unnamed.push(`${where}: ${control}`);
}

async function authorize(token) {
  const res = await request(t.base, "/v1/authorize", {
    headers: {
      Authorization: `Bearer ${token}`,
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Uri": "/public/v1/billing/invoices",
    },
  });
  return res.status;
}

async function rest(token, method, path, body) {
  const res = await request(t.base, `/public/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.body ? JSON.parse(res.body) : null };
}

/** The wizard up to Add: General (name, expiry, switch), one module, Overview. */
async function fillWizard(name, { expiry, date, selfRotate = false } = {}) {
  await page.goto(`${t.base}${TOKENS}/new`);
  await page.getByLabel("Name", { exact: true }).fill(name);
  if (expiry) await page.getByLabel("Expiration", { exact: true }).selectOption(expiry);
  if (date) await page.getByLabel("Expiration date").fill(date);
  if (selfRotate) await page.getByRole("switch", { name: "Let this token rotate itself" }).check();
  await page.locator('[data-step="1"]').getByRole("button", { name: "Next" }).click();
  await page.getByLabel(/Billing/).check();
  await page.locator('[data-step="2"]').getByRole("button", { name: "Next" }).click();
}

async function addWizard() {
  await page.locator('[data-step="3"]').getByRole("button", { name: "Add" }).click();
}

describe("tokens that end", () => {
  before(async () => {
    t = await Tollgate.start();
    account = t.cli(["accounts", "create", "--name", "Lifetime Labs", "--type", "client", "--json"]);
    admin = t.cli(["users", "create", "--account", account.id, "--name", "Ada Admin", "--admin", "--json"]);
    page = await t.newPage(1280);
    await page.goto(t.loginUrl(admin.id));
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(`**${TOKENS}`);
  });

  after(async () => {
    if (t) await t.stop();
  });

  it("offers an Expiration and the self-rotation switch in the wizard", async () => {
    await page.goto(`${t.base}${TOKENS}/new`);
    const expiry = page.getByLabel("Expiration", { exact: true });
    assert.equal(await expiry.inputValue(), "never", "no expiration unless a policy asks for one");
    const values = await expiry.locator("option").evaluateAll((options) => options.map((o) => o.value));
    assert.deepEqual(values, ["7", "30", "60", "90", "date", "never"]);
    // The date field appears (and is required) only with "On a date…".
    const date = page.getByLabel("Expiration date");
    assert.equal(await date.isVisible(), false);
    await expiry.selectOption("date");
    assert.equal(await date.isVisible(), true);
    assert.equal(await date.evaluate((input) => input.required), true);
    assert.equal(await date.getAttribute("min"), isoDate(1));
    await expiry.selectOption("7");
    assert.equal(await date.isVisible(), false);
    const sw = page.getByRole("switch", { name: "Let this token rotate itself" });
    assert.equal(await sw.isChecked(), false);
    await checkNames("wizard general");

    await fillWizard("Deploy robot", { expiry: "7", selfRotate: true });
    const overview = page.locator('[data-step="3"]');
    assert.match(await overview.locator('[data-summary="expiry"]').textContent(), /^7 days \(\d+ \w{3} \d{4}\)$/);
    assert.equal(await overview.locator('[data-summary="self-rotate"]').textContent(), "Allowed");
    await shot("wizard-lifetime-overview-1280");
    await addWizard();
    await page.getByRole("heading", { name: "API token added" }).waitFor();
    await page.getByText(/^It expires .+ UTC\.$/).waitFor();
    const value = await page.locator("#token-value").inputValue();
    assert.match(value, VALUE);
    robot = { id: value.split(":")[1], value };

    await page.getByRole("link", { name: "View details" }).click();
    assert.equal((await page.locator("#expires .soon").textContent()).trim(), "expires in 7 days");
    await page.getByRole("link", { name: "Details", exact: true }).click();
    await page.getByText("Allowed: the token may rotate itself").waitFor();
  });

  it("shows the expiry in the list, and the banner names a token expiring within 7 days", async () => {
    t.cli(["tokens", "create", "--account", account.id, "--name", "Forever robot", "--modules", "billing", "--created-by", admin.id]);
    await page.goto(`${t.base}${TOKENS}`);
    const row = page.locator("tbody tr", { hasText: "Deploy robot" });
    assert.equal((await row.locator("td[data-label=Expires] .soon").textContent()).trim(), "expires in 7 days");
    const forever = page.locator("tbody tr", { hasText: "Forever robot" });
    assert.equal((await forever.locator("td[data-label=Expires]").textContent()).trim(), "Never");
    const banner = page.locator("#trouble");
    await banner.getByRole("heading", { name: "API tokens that need attention" }).waitFor();
    const expiring = banner.locator('[data-trouble="expiring"]');
    assert.ok((await expiring.textContent()).includes("Deploy robot"), await expiring.textContent());
    assert.ok((await expiring.textContent()).includes("expires in 7 days"));
    assert.equal(await banner.locator('[data-trouble="compromised"], [data-trouble="retired-value"]').count(), 0);
    assert.ok(!(await banner.textContent()).includes("Forever robot"));
    // Sorting by expiry puts the token that never expires last, either way round.
    await page.getByRole("link", { name: "Expires", exact: true }).click();
    await page.waitForURL(/order=expires/);
    assert.deepEqual(await page.locator("tbody a.name").allTextContents(), ["Deploy robot", "Forever robot"]);
    await checkNames("list with banner");
    await shot("list-banner-1280");
  });

  it("refuses what the account's policy forbids, next to the field, and takes a date", async () => {
    t.cli(["accounts", "set-policy", account.id, "--max-token-lifetime-days", "30"]);
    await fillWizard("Too long", { expiry: "60" });
    await addWizard();
    const error = page.locator("#expiry-error");
    await error.waitFor();
    assert.equal(await error.textContent(), "Expiration must be within 30 days (this account's policy).");
    const select = page.getByLabel("Expiration", { exact: true });
    assert.equal(await select.getAttribute("aria-invalid"), "true");
    assert.ok((await select.getAttribute("aria-describedby")).split(" ").includes("expiry-error"));
    assert.ok(await error.isVisible(), "the wizard opens the step with the error");
    assert.ok((await page.locator("#expiry-help").textContent()).includes("at most 30 days"));
    await shot("wizard-expiry-error-1280");

    // A date past the policy: the error sits under the date field.
    await select.selectOption("date");
    await page.getByLabel("Expiration date").fill(isoDate(45));
    await page.locator('[data-step="1"]').getByRole("button", { name: "Next" }).click();
    await page.locator('[data-step="2"]').getByRole("button", { name: "Next" }).click();
    await addWizard();
    const dateError = page.locator("#expiry_date-error");
    await dateError.waitFor();
    assert.ok((await dateError.textContent()).includes("within 30 days"), await dateError.textContent());
    assert.equal(await page.getByLabel("Expiration date").getAttribute("aria-invalid"), "true");

    const on = isoDate(10);
    await page.getByLabel("Expiration date").fill(on);
    await page.locator('[data-step="1"]').getByRole("button", { name: "Next" }).click();
    await page.locator('[data-step="2"]').getByRole("button", { name: "Next" }).click();
    assert.equal(await page.locator('[data-summary="expiry"]').textContent(), `${on}, 00:00 UTC`);
    await addWizard();
    await page.getByRole("heading", { name: "API token added" }).waitFor();
    const time = page.locator("p time");
    assert.equal(await time.getAttribute("datetime"), `${on}T00:00:00.000Z`);
    t.cli(["accounts", "set-policy", account.id, "--max-token-lifetime-days", "none"]);
  });

  it("changes the expiration and self-rotation in the Edit dialog", async () => {
    await page.goto(`${t.base}${TOKENS}/${robot.id}`);
    await page.getByRole("link", { name: "Edit Deploy robot" }).click();
    const dialog = page.locator("#edit-dialog");
    await dialog.waitFor({ state: "visible" });
    const select = dialog.getByLabel("Expiration", { exact: true });
    assert.equal(await select.inputValue(), "keep");
    assert.match(await select.locator("option:checked").textContent(), /^Keep: \d+ \w{3} \d{4}$/);
    const sw = dialog.getByRole("switch", { name: "Let this token rotate itself" });
    assert.equal(await sw.isChecked(), true);
    await checkNames("edit dialog");
    await shot("details-edit-lifetime-1280");
    // Keeping it: only the name changes.
    await dialog.getByLabel("Name", { exact: true }).fill("Deploy robot 2");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Changes to “Deploy robot 2” were saved.").waitFor();
    assert.equal((await page.locator("#expires .soon").textContent()).trim(), "expires in 7 days");

    await page.getByRole("link", { name: "Edit Deploy robot 2" }).click();
    await dialog.getByLabel("Expiration", { exact: true }).selectOption("never");
    await dialog.getByRole("switch", { name: "Let this token rotate itself" }).uncheck();
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Changes to “Deploy robot 2” were saved.").waitFor();
    assert.equal((await page.locator("#expires").textContent()).trim(), "Never");
    await page.getByRole("link", { name: "Details", exact: true }).click();
    await page.getByText("Not allowed", { exact: true }).waitFor();

    await page.getByRole("link", { name: "Edit Deploy robot 2" }).click();
    await dialog.getByLabel("Expiration", { exact: true }).selectOption("90");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Changes to “Deploy robot 2” were saved.").waitFor();
    const at = Date.parse(await page.locator("#expires time").getAttribute("datetime"));
    assert.ok(Math.abs(at - (Date.now() + 90 * DAY)) < 120_000, `expires ${new Date(at).toISOString()}`);
  });

  it("shows Expired once a token's expiry passes, and a later expiration makes it Active", async () => {
    const manager = t.cli(["tokens", "create", "--account", account.id, "--name", "Token manager", "--modules", "access-management,billing", "--json"]);
    const target = t.cli(["tokens", "create", "--account", account.id, "--name", "Short lived", "--modules", "billing", "--json"]);
    // Tokens made by the CLI reach the server through its change feed.
    let put;
    for (const deadline = Date.now() + 10_000; ; ) {
      const soon = new Date(Date.now() + 1500).toISOString();
      put = await rest(manager.token, "PUT", `/accounts/api-tokens/${target.id}`, { expiresAt: soon });
      if (put.status !== 401 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await new Promise((r) => setTimeout(r, 2000));
    await page.goto(`${t.base}${TOKENS}?status=Expired`);
    assert.deepEqual(await page.locator("tbody a.name").allTextContents(), ["Short lived"]);
    assert.equal(await page.locator("tbody .badge").textContent(), "Expired");
    assert.equal(await page.getByLabel("Status").inputValue(), "Expired");
    await page.getByRole("link", { name: "Short lived", exact: true }).click();
    assert.equal(await page.locator(".details-head .badge").textContent(), "Expired");
    assert.equal(await page.locator("#expires .soon").count(), 0, "no warning once it has passed");
    await shot("details-expired-1280");
    await page.getByRole("link", { name: "Edit Short lived" }).click();
    const dialog = page.locator("#edit-dialog");
    const select = dialog.getByLabel("Expiration", { exact: true });
    assert.match(await select.locator("option:checked").textContent(), /^Keep: expired /);
    await select.selectOption("30");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByText("Changes to “Short lived” were saved.").waitFor();
    assert.equal(await page.locator(".details-head .badge").textContent(), "Active");
    assert.equal(await authorize(target.token), 200);
  });

  it("rotates with a grace period and shows the new value once", async () => {
    await page.goto(`${t.base}${TOKENS}/${robot.id}`);
    await page.getByRole("link", { name: "Rotate Deploy robot 2" }).click();
    const dialog = page.locator("#rotate-dialog");
    await dialog.waitFor({ state: "visible" });
    assert.ok((await dialog.textContent()).includes("Rotate “Deploy robot 2”"));
    const grace = dialog.getByLabel("Keep the current value working for");
    const graces = await grace.locator("option").evaluateAll((options) => options.map((o) => o.value));
    assert.deepEqual(graces, ["0", "3600", "86400", "604800"]);
    await checkNames("rotate dialog");
    await shot("details-rotate-1280");
    // Cancel changes nothing.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal(await authorize(robot.value), 200);

    await page.getByRole("link", { name: "Rotate Deploy robot 2" }).click();
    await grace.selectOption("3600");
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/rotate") && r.request().method() === "POST"),
      dialog.getByRole("button", { name: "Rotate" }).click(),
    ]);
    assert.equal(answer.headers()["cache-control"], "no-store", "the page with the value is not stored");
    await page.getByRole("heading", { name: "API token rotated" }).waitFor();
    assert.ok((await page.locator("#previous-value").textContent()).startsWith("The previous value works until"));
    const field = page.locator("#token-value");
    assert.equal(await field.getAttribute("type"), "password");
    await page.getByRole("button", { name: "Show" }).click();
    assert.equal(await field.getAttribute("type"), "text");
    const first = await field.inputValue();
    assert.match(first, VALUE);
    assert.notEqual(first, robot.value);
    assert.equal(first.split(":")[1], robot.id, "same id");
    await page.getByRole("button", { name: "Copy" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), first);
    await page.getByRole("button", { name: "Hide" }).click();
    assert.equal(await field.getAttribute("type"), "password");
    await checkNames("rotated");
    await shot("details-rotated-1280");
    assert.equal(await authorize(first), 200);
    assert.equal(await authorize(robot.value), 200, "the old value works during the grace");

    // Again with no grace: the first new value stops at once, the older grace ends.
    await page.getByRole("link", { name: "View details" }).click();
    await page.getByText(/works until/).first().waitFor();
    await page.getByRole("link", { name: "Rotate Deploy robot 2" }).click();
    await grace.selectOption("0");
    await dialog.getByRole("button", { name: "Rotate" }).click();
    await page.getByRole("heading", { name: "API token rotated" }).waitFor();
    assert.equal(await page.locator("#previous-value").textContent(), "The previous value no longer works.");
    const second = await field.inputValue();
    assert.equal(await authorize(second), 200);
    assert.equal(await authorize(first), 401);
    assert.equal(await authorize(robot.value), 401);
    robot.retired = first;
    robot.value = second;
  });

  it("names a token presented with a retired value in the banner", async () => {
    assert.equal(await authorize(robot.retired), 401);
    // The failure is recorded off the request path (the write-behind flushes every 5 s).
    const deadline = Date.now() + 20_000;
    const retired = page.locator('#trouble [data-trouble="retired-value"]');
    for (;;) {
      await page.goto(`${t.base}${TOKENS}`);
      if (await retired.count()) break;
      assert.ok(Date.now() < deadline, "no retired-value warning within 20 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    const text = await retired.textContent();
    assert.ok(text.includes("Deploy robot 2") && text.includes(robot.id), text);
    assert.ok(!text.includes("Forever robot"), text);
    await retired.getByRole("link", { name: "Deploy robot 2" }).click();
    await page.getByRole("heading", { name: "Deploy robot 2", level: 1 }).waitFor();
    await page.getByRole("link", { name: "Audit trail" }).last().click();
    await page.locator("tbody tr", { hasText: "a value retired by a rotation was presented" }).first().waitFor();
    await page.goto(`${t.base}${TOKENS}`);
    await shot("list-banner-retired-1280");
  });

  it("names a token whose value was reported leaked in the banner, and its page says so", async () => {
    const leaked = t.cli(["tokens", "create", "--account", account.id, "--name", "Leaky robot", "--modules", "billing", "--json"]);
    const report = await request(t.base, "/v1/credentials/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ credentials: [leaked.token, "idt:TKN-0000-0000:not-a-token-of-ours"] }),
    });
    assert.equal(report.status, 202, report.body);
    // Reports are processed off the request path, from a bounded queue.
    const deadline = Date.now() + 20_000;
    const compromised = page.locator('#trouble [data-trouble="compromised"]');
    for (;;) {
      await page.goto(`${t.base}${TOKENS}`);
      if ((await compromised.count()) && (await compromised.textContent()).includes("Leaky robot")) break;
      assert.ok(Date.now() < deadline, "no leaked-token warning within 20 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    const text = await compromised.textContent();
    assert.ok(text.includes(leaked.id), text);
    assert.ok(!text.includes("Forever robot"), text);
    assert.equal(await authorize(leaked.token), 401, "a reported value is refused");
    await compromised.getByRole("link", { name: "Leaky robot" }).click();
    await page.getByRole("heading", { name: "Leaky robot", level: 1 }).waitFor();
    await page.getByText("A value of this API token was reported leaked, so it was disabled.").waitFor();
    await page.getByRole("link", { name: "Audit trail" }).last().click();
    await page.locator("tbody tr", { hasText: "was reported leaked; the token was disabled" }).first().waitFor();
    await page.goto(`${t.base}${TOKENS}`);
    await shot("list-banner-leaked-1280");
  });

  it("works at 390 px wide", async () => {
    const narrow = await t.newPage(390);
    await narrow.context().addCookies(await page.context().cookies());
    await narrow.goto(`${t.base}${TOKENS}`);
    await narrow.locator("#trouble").waitFor();
    assert.ok(await fitsWidth(narrow), "the list with its banner fits 390 px");
    await shot("list-banner-390", narrow);
    await narrow.goto(`${t.base}${TOKENS}/new`);
    await narrow.getByLabel("Expiration", { exact: true }).selectOption("date");
    assert.ok(await fitsWidth(narrow), "the wizard fits 390 px");
    await shot("wizard-lifetime-390", narrow);
    await narrow.goto(`${t.base}${TOKENS}/${robot.id}`);
    await narrow.getByRole("link", { name: "Rotate Deploy robot 2" }).click();
    await narrow.locator("#rotate-dialog").waitFor({ state: "visible" });
    assert.ok(await fitsWidth(narrow), "the rotate dialog fits 390 px");
    await shot("details-rotate-390", narrow);
    assert.deepEqual(narrow.problems, []);
    await narrow.context().close();
  });

  it("works without JavaScript: the date field shown, Rotate on its own page", async () => {
    const context = await t.browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false });
    await context.addCookies(await page.context().cookies());
    const plain = await context.newPage();
    await plain.goto(`${t.base}${TOKENS}/new`);
    assert.equal(await plain.getByLabel("Expiration date").isVisible(), true);
    await plain.getByLabel("Name", { exact: true }).fill("Plain robot");
    await plain.getByLabel("Expiration", { exact: true }).selectOption("30");
    await plain.getByLabel(/Billing/).check();
    await plain.getByRole("button", { name: "Add" }).click();
    await plain.getByRole("heading", { name: "API token added" }).waitFor();
    const value = await plain.locator("#token-value").inputValue();
    await plain.getByRole("link", { name: "View details" }).click();
    await plain.getByRole("link", { name: "Rotate Plain robot" }).click();
    await plain.getByRole("heading", { name: "Rotate API token" }).waitFor();
    await plain.getByLabel("Keep the current value working for").selectOption("86400");
    await plain.getByRole("button", { name: "Rotate" }).click();
    await plain.getByRole("heading", { name: "API token rotated" }).waitFor();
    const rotated = await plain.locator("#token-value").inputValue();
    assert.match(rotated, VALUE);
    assert.notEqual(rotated, value);
    assert.equal(await authorize(value), 200, "a day's grace");
    assert.equal(await authorize(rotated), 200);
    await context.close();
  });

  it("gave every control an accessible name and raised no script or CSP errors", () => {
    assert.deepEqual(unnamed, []);
    assert.deepEqual(page.problems, []);
  });
});
