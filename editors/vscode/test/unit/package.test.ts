// package.json: every server setting is contributed with a type, a default and a description; the
// settings that run code or send it elsewhere are machine-scoped and restricted in untrusted
// workspaces; the commands exist. The settings are checked against elixir_coder_lsp/settings.py.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { python, REPO } from "../e2e/server";

const pkg = JSON.parse(readFileSync(path.join(__dirname, "../../../package.json"), "utf8"));
const props: Record<string, { type: string; default: unknown; description: string; scope?: string }> = pkg.contributes.configuration.properties;

test("every setting has a type, a default and a description", () => {
  assert.ok(Object.keys(props).length > 50);
  for (const [key, p] of Object.entries(props)) {
    assert.ok(key.startsWith("elixirCoder."), key);
    assert.ok(p.type, `${key}: type`);
    assert.ok("default" in p, `${key}: default`);
    assert.ok(p.description && p.description.length > 10, `${key}: description`);
  }
});

test("settings that run code or send code elsewhere are machine-scoped and restricted", () => {
  const restricted: string[] = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
  const trust = Object.keys(props).filter((k) => /\.(trustedWorkspace|checkpoint|url|apiKeyEnv|adapter|serverPath|serverArgs|instances)$/.test(k));
  assert.ok(trust.includes("elixirCoder.trustedWorkspace") && trust.includes("elixirCoder.models.default.url"));
  assert.equal(trust.filter((k) => k.endsWith(".adapter")).length, 4, "one adapter per role");
  for (const key of trust) {
    assert.equal(props[key].scope, "machine", key);
    assert.ok(restricted.includes(key), `${key} is restricted`);
  }
  assert.deepEqual([...restricted].sort(), [...trust].sort(), "nothing else is restricted");
});

test("defaults match the server's (settings_schema.py --check against settings.py)", () => {
  execFileSync(python(), [path.join(REPO, "editors", "vscode", "scripts", "settings_schema.py"), "--check"], {
    env: { ...process.env, PYTHONPATH: REPO },
    stdio: ["ignore", "inherit", "inherit"],
  });
  assert.equal(props["elixirCoder.models.default.checkpoint"].default, "Qwen/Qwen2.5-Coder-1.5B-Instruct");
  assert.equal(props["elixirCoder.checks.onChangeDebounceMs"].default, 300);
});

test("the three commands are contributed", () => {
  const titles = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
  assert.deepEqual(titles, {
    "elixirCoder.generateCode": "Generate code",
    "elixirCoder.explainFinding": "Explain",
    "elixirCoder.cancelJob": "Cancel the running job",
  });
});
