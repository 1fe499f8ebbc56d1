// The harness: a throwaway Tollgate (SQLite in a temporary folder, its own port), the operator
// CLI, Debian's Chromium through playwright-core, and small helpers.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import https from "node:https";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

// (import.meta.dirname is Node.js 20.11 and later; Debian 12 ships Node.js 18.)
export const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..");
export const artifacts = join(root, "artifacts", "browser");
const binary = process.env.TOLLGATE_BIN || join(root, "target", "debug", "tollgate");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on("error", fail);
  });
}

/** GET or POST over HTTPS to the test server (its certificate is self-signed). */
export function request(base, path, { method = "GET", headers = {}, body } = {}) {
  return new Promise((done, fail) => {
    const req = https.request(
      `${base}${path}`,
      { method, headers, rejectUnauthorized: false },
      (res) => {
        let data = "";
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => done({ status: res.statusCode, headers: res.headers, body: data }));
      }
    );
    req.on("error", fail);
    if (body) req.write(body);
    req.end();
  });
}

export class Tollgate {
  static async start() {
    if (!existsSync(binary)) throw new Error(`no tollgate binary at ${binary}: run cargo build -p tollgate`);
    if (!existsSync(chromiumPath)) {
      throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium chromium-driver`);
    }
    const dir = mkdtempSync(join(tmpdir(), "tollgate-browser-"));
    const port = await freePort();
    const t = new Tollgate();
    t.dir = dir;
    t.base = `https://127.0.0.1:${port}`;
    t.env = {
      ...process.env,
      TOLLGATE_DATA_DIR: dir,
      TOLLGATE_DATABASE_URL: `sqlite://${dir}/tollgate.db`,
      TOLLGATE_LISTEN: `127.0.0.1:${port}`,
      RUST_LOG: "warn",
    };
    delete t.env.TOLLGATE_SECRET_KEY;
    t.cli(["migrate"]);
    t.server = spawn(binary, ["serve"], { env: t.env, stdio: ["ignore", "ignore", "inherit"] });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await request(t.base, "/healthz");
        if (res.status === 200) break;
      } catch (_) {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("the server did not start within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    mkdirSync(artifacts, { recursive: true });
    t.browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
    });
    return t;
  }

  /** Runs the operator CLI against the same database; parses `--json` output. */
  cli(args) {
    const out = execFileSync(binary, args, { env: this.env, encoding: "utf8" });
    return args.includes("--json") ? JSON.parse(out) : out.trim();
  }

  loginUrl(user) {
    return this.cli(["login-url", "--user", user, "--base-url", this.base]);
  }

  async newPage(width = 1280) {
    const context = await this.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width, height: 900 },
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: this.base });
    const page = await context.newPage();
    page.problems = [];
    page.on("console", (message) => {
      // Pages answered 401/404 on purpose are not problems; script errors and CSP refusals are.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        page.problems.push(message.text());
      }
    });
    page.on("pageerror", (error) => page.problems.push(String(error)));
    return page;
  }

  async stop() {
    if (this.browser) await this.browser.close();
    if (this.server) {
      this.server.kill("SIGTERM");
      await new Promise((r) => this.server.once("exit", r));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Form controls without an accessible name, as Chromium computes names. */
export async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  const controls = new Set(["textbox", "searchbox", "combobox", "checkbox", "radio", "button", "listbox", "spinbutton", "slider", "switch"]);
  return nodes
    .filter((node) => !node.ignored && controls.has(node.role?.value))
    .filter((node) => !(node.name?.value || "").trim())
    .map((node) => `${node.role.value} (backend node ${node.backendDOMNodeId})`);
}

/** True when nothing is wider than the viewport (no sideways scrolling). */
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** CRC-32 (ISO-HDLC, as PNG chunks use); zlib.crc32 is Node.js 20.15 and later. */
function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A valid 64×64 PNG: a blue square with a lighter diagonal band. */
export const PNG = (() => {
  const size = 64;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = [0];
    for (let x = 0; x < size; x++) {
      const band = Math.abs(x - y) < 10;
      row.push(band ? 96 : 29, band ? 165 : 78, band ? 250 : 216);
    }
    rows.push(Buffer.from(row));
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
})();
