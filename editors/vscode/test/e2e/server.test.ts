// End to end: the real server over stdio, spoken to with vscode-languageserver-protocol the way the
// extension's client does (initializationOptions from logic.ts, the ask reply built by logic.ts).
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import {
  ApplyWorkspaceEditParams,
  CodeAction,
  CodeActionRequest,
  DidChangeConfigurationNotification,
  Command,
  Diagnostic,
  ExecuteCommandRequest,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  PublishDiagnosticsParams,
  ShutdownRequest,
  TextEdit,
} from "vscode-languageserver-protocol/node";
import { AskParams, ProgressValue, StatusParams, askItems, askResult, initializationOptions, jobIdOf, jobToken, serverSettings } from "../../src/logic";
import { Server, serverAsks, startServer, tinyModel, waitFor } from "./server";

// Two definitions that report an empty list differently: the clarification step sees two behaviours
// and (with the forced thresholds below) asks how failures should be reported.
const VARIANTS = [
  "def mean([]), do: {:error, :empty}\ndef mean(numbers), do: {:ok, Enum.sum(numbers) / length(numbers)}",
  'def mean([]), do: raise(ArgumentError, "empty list")\ndef mean(numbers), do: Enum.sum(numbers) / length(numbers)',
];
const URI = "file:///tmp/elixir-coder-vscode-e2e/stats.ex";
const TEXT = [
  "defmodule Stats do",
  "  # TODO: return the mean of a list of numbers",
  "",
  "  def total(items) do",
  "    IO.inspect(items)",
  "    Enum.sum(items)",
  "  end",
  "end",
  "",
].join("\n");

let server: Server;
const diagnostics = new Map<string, Diagnostic[]>();
const edits: ApplyWorkspaceEditParams[] = [];
const asked: AskParams[] = [];
const statuses: StatusParams[] = [];
const progress = new Map<string, ProgressValue[]>();
const errors: string[] = [];
const configSections: string[] = [];

function applyEdits(text: string, changes: TextEdit[]): string {
  const lines = text.split("\n");
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...changes].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  return sorted.reduce((t, e) => t.slice(0, offset(e.range.start)) + e.newText + t.slice(offset(e.range.end)), text);
}

before(async () => {
  const checkpoint = tinyModel();
  server = startServer(VARIANTS);
  const settings = {
    "models.default.checkpoint": checkpoint,
    "models.default.maxNewTokens": 128,
    "generation.candidates": 2,
    "checks.onChangeDebounceMs": 0,
    "clarification.entropyThreshold": 0,
    "clarification.clusterThreshold": 1,
    serverPath: "not sent",
  };
  const c = server.connection;
  c.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => diagnostics.set(p.uri, p.diagnostics));
  c.onNotification("elixirCoder/status", (p: StatusParams) => statuses.push(p));
  c.onNotification("$/progress", (p: { token: string; value: ProgressValue }) => progress.set(String(p.token), [...(progress.get(String(p.token)) ?? []), p.value]));
  c.onNotification("window/showMessage", (p: { type: number; message: string }) => p.type === 1 && errors.push(p.message));
  c.onNotification("window/logMessage", () => undefined);
  c.onRequest("window/workDoneProgress/create", () => null);
  c.onRequest("client/registerCapability", () => null);
  // As the extension's middleware answers: the explicit settings for elixirCoder, nothing else.
  c.onRequest("workspace/configuration", (p: { items: { section?: string }[] }) => {
    configSections.push(...p.items.map((item) => item.section ?? ""));
    return p.items.map((item) => (item.section === "elixirCoder" ? serverSettings(settings) : null));
  });
  c.onRequest("workspace/applyEdit", (p: ApplyWorkspaceEditParams) => {
    edits.push(p);
    return { applied: true };
  });
  // The QuickPick, driven here: the user types an answer of their own and accepts it.
  c.onRequest("elixirCoder/ask", (p: AskParams) => {
    asked.push(p);
    const typed = "return nil for an empty list";
    const items = askItems(p, typed);
    return askResult(p, items[items.length - 1], typed);
  });
  c.listen();
  const init = await c.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {
      window: { workDoneProgress: true, showMessage: {} },
      workspace: { applyEdit: true, workspaceEdit: { documentChanges: true }, configuration: true },
      textDocument: {
        publishDiagnostics: { relatedInformation: true },
        codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix", "refactor.rewrite"] } }, resolveSupport: { properties: ["edit"] } },
      },
    },
    initializationOptions: initializationOptions(settings),
  });
  assert.ok(init.capabilities.codeActionProvider, "the server offers code actions");
  assert.deepEqual(init.capabilities.executeCommandProvider?.commands.filter((x) => x.startsWith("elixirCoder.")).sort(), [
    "elixirCoder.cancel",
    "elixirCoder.explain",
    "elixirCoder.fix",
    "elixirCoder.generate",
  ]);
  await c.sendNotification(InitializedNotification.type, {});
  // What the extension sends when a setting changes: null settings, so the server asks for them.
  await c.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  await c.sendNotification("textDocument/didOpen", { textDocument: { uri: URI, languageId: "elixir", version: 1, text: TEXT } });
});

after(async () => {
  if (!server) return;
  await server.connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
  await server.connection.sendNotification(ExitNotification.type).catch(() => undefined);
  server.connection.dispose();
  await new Promise((r) => setTimeout(r, 500));
  server.process.kill();
});

function ioInspect(): Diagnostic | undefined {
  return diagnostics.get(URI)?.find((d) => d.code === "Credo.Check.Warning.IoInspect");
}

test("settings: the server asks for the elixirCoder section after a change", async () => {
  await waitFor("a workspace/configuration request", () => configSections.includes("elixirCoder"), 30_000);
});

test("diagnostics: IO.inspect is reported at its line", async () => {
  const d = await waitFor("the IO.inspect diagnostic", ioInspect, 60_000);
  assert.equal(d.range.start.line, 4);
  assert.equal(d.source, "elixir-coder"); // the built-in Credo rules (no trusted mix project here)
});

test("code actions: a quick fix with an edit removes IO.inspect; Explain returns markdown", async () => {
  const d = ioInspect()!;
  const actions = (await server.connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: URI },
    range: d.range,
    context: { diagnostics: [d] },
  })) as (CodeAction | Command)[];
  const fix = actions.find((a): a is CodeAction => "kind" in a && a.kind === "quickfix" && !!a.edit && !!a.isPreferred);
  assert.ok(fix, `a preferred quick fix among ${actions.map((a) => a.title).join(", ")}`);
  const change = fix.edit!.documentChanges![0] as { edits: TextEdit[] };
  const fixed = applyEdits(TEXT, change.edits);
  assert.ok(!fixed.includes("IO.inspect"), fixed);
  const explain = actions.find((a) => a.title.startsWith("Explain")) as CodeAction;
  assert.equal(explain.command?.command, "elixirCoder.explain");
  const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, explain.command!)) as { markdown: string };
  assert.match(result.markdown, /IO\.inspect/);
});

test("generate: the TODO comment's job applies the model's code after the comment", async () => {
  const at = { line: 1, character: 10 };
  const actions = (await server.connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: URI },
    range: { start: at, end: at },
    context: { diagnostics: [] },
  })) as CodeAction[];
  const gen = actions.find((a) => a.title === "Generate code");
  assert.ok(gen?.command, `Generate code among ${actions.map((a) => a.title).join(", ")}`);
  assert.equal(gen.kind, "refactor.rewrite");
  const jobId = jobIdOf(await server.connection.sendRequest(ExecuteCommandRequest.type, gen.command));
  assert.ok(jobId, "the command answers with a job id at once");
  const edit = await waitFor("the generated edit (or an error)", () => edits[0] ?? (errors.length > 0 && { error: errors.join("; ") }));
  assert.ok(!("error" in edit), `the job failed: ${"error" in edit ? edit.error : ""}\n${server.stderr.join("").slice(-2000)}`);
  const change = (edit as ApplyWorkspaceEditParams).edit.documentChanges![0] as { textDocument: { uri: string }; edits: TextEdit[] };
  assert.equal(change.textDocument.uri, URI);
  const after = applyEdits(TEXT, change.edits);
  const lines = after.split("\n");
  assert.equal(lines[1], "  # TODO: return the mean of a list of numbers", "the comment stays");
  const inserted = VARIANTS.find((v) => after.includes(v.split("\n").map((l) => `  ${l}`).join("\n")));
  assert.ok(inserted, `one of the model's definitions, indented, after the comment:\n${after}`);
  assert.ok(lines[2].startsWith("  def mean("), after);
  const reports = progress.get(jobToken(jobId)) ?? [];
  assert.equal(reports[0]?.kind, "begin");
  assert.equal(reports.at(-1)?.kind, "end");
  assert.ok(statuses.some((s) => s.instance === "default"), "elixirCoder/status reported the model's state");
});

test("ask: the clarifying question came with its options and was answered with free text", (t) => {
  if (!serverAsks()) {
    t.skip("this server has no clarification flow (no elixirCoder/ask in elixir_coder_lsp/lsp)");
    return;
  }
  assert.equal(asked.length, 1, "one question");
  const q = asked[0];
  assert.match(q.question, /mean\/1/);
  assert.ok(q.options.length >= 2, JSON.stringify(q.options));
  assert.equal(q.allowFreeText, true);
  // The answer was taken: a dismissed question cancels the job, and the edit above arrived.
  assert.equal(edits.length, 1);
});
