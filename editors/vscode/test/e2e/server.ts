// Starts the real Python server over stdio for the end-to-end tests, with a tiny random model whose
// samples are forced, in turn, to known texts (editors/tests/tiny_model.py, forced_variants.py).
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { ProtocolConnection, StreamMessageReader, StreamMessageWriter, createProtocolConnection } from "vscode-languageserver-protocol/node";

export const REPO = path.resolve(__dirname, "../../../../..");

/** The Python with the server's dependencies: $ELIXIR_CODER_PYTHON, else the project venv, else python3. */
export function python(): string {
  if (process.env.ELIXIR_CODER_PYTHON) return process.env.ELIXIR_CODER_PYTHON;
  const venv = path.join(REPO, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

const ENV = {
  ...process.env,
  PYTHONPATH: process.env.PYTHONPATH ? `${REPO}:${process.env.PYTHONPATH}` : REPO,
  OMP_NUM_THREADS: "1",
  TOKENIZERS_PARALLELISM: "false",
  HF_HUB_OFFLINE: "1",
  TRANSFORMERS_OFFLINE: "1",
};

/** The tiny model's directory: $EC_MODEL when the editors stage has built it, else built (or found cached) now. */
export function tinyModel(): string {
  if (process.env.EC_MODEL) {
    return process.env.EC_MODEL;
  }
  return execFileSync(python(), [path.join(REPO, "editors", "tests", "tiny_model.py")], { env: ENV, encoding: "utf8" }).trim();
}

export interface Server {
  connection: ProtocolConnection;
  process: ChildProcess;
  stderr: string[];
}

/**
 * Whether the server's source sends elixirCoder/ask (the clarification flow); then the tests expect
 * the question. $EC_SERVER_SRC names another source tree to look in (when PYTHONPATH points there).
 */
export function serverAsks(): boolean {
  const dir = path.join(process.env.EC_SERVER_SRC || REPO, "elixir_coder_lsp", "lsp");
  return readdirSync(dir).some((f) => f.endsWith(".py") && readFileSync(path.join(dir, f), "utf8").includes('"elixirCoder/ask"'));
}

/** The server as `python -m elixir_coder_lsp`; the model's samples spell `forcedTexts` in turn. */
export function startServer(forcedTexts: string[]): Server {
  const child = spawn(python(), ["-m", "elixir_coder_lsp"], {
    cwd: REPO,
    env: {
      ...ENV,
      ELIXIR_CODER_TEST_LOGITS_PROCESSOR: `${path.join(REPO, "editors", "tests", "forced_variants.py")}:factory`,
      ELIXIR_CODER_TEST_FORCED_TEXTS: JSON.stringify(forcedTexts),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  return { connection, process: child, stderr };
}

/** Resolves with `check()`'s first truthy value, polling; rejects after `ms` with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 180_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
