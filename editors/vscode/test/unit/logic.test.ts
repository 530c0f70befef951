// Unit tests of the extension's vscode-free logic (src/logic.ts).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  AskParams,
  FREE_TEXT_DESCRIPTION,
  JobTracker,
  StatusBoard,
  askItems,
  askResult,
  generateArgument,
  initializationOptions,
  isAskParams,
  jobIdOf,
  jobToken,
  serverSettings,
} from "../../src/logic";

const ASK: AskParams = {
  jobId: "job-1",
  question: "What should happen to an empty list?",
  options: [{ label: "Return 0", description: "mean of [] is 0" }, { label: "Raise ArgumentError" }],
  allowFreeText: true,
};

test("settings: dotted keys nest into the server's object; extension keys stay behind", () => {
  const out = serverSettings({
    "models.default.checkpoint": "/models/qwen",
    "models.default.roles.question.adapter": "/adapters/q",
    "generation.monitors.ioInspect": false,
    "checks.exclude": ["deps/**"],
    trustedWorkspace: true,
    serverPath: "/usr/bin/python3",
    serverArgs: ["-m", "elixir_coder_lsp"],
  });
  assert.deepEqual(out, {
    models: { default: { checkpoint: "/models/qwen", roles: { question: { adapter: "/adapters/q" } } } },
    generation: { monitors: { ioInspect: false } },
    checks: { exclude: ["deps/**"] },
    trustedWorkspace: true,
  });
});

test("settings: nothing set sends nothing, so the server's own files and defaults apply", () => {
  assert.deepEqual(serverSettings({}), {});
  assert.deepEqual(serverSettings({ "inline.enabled": undefined }), {});
});

test("settings: instances become models.NAME beside models.default", () => {
  const out = serverSettings({
    "models.default.maxNewTokens": 64,
    instances: { candidate: { checkpoint: "/m/new", backend: "openai", url: "http://gpu:8000/v1" }, default: { checkpoint: "ignored" } },
    "routing.weights": { default: 0.9, candidate: 0.1 },
  });
  assert.deepEqual(out, {
    models: { default: { maxNewTokens: 64 }, candidate: { checkpoint: "/m/new", backend: "openai", url: "http://gpu:8000/v1" } },
    routing: { weights: { default: 0.9, candidate: 0.1 } },
  });
});

test("settings: initializationOptions say the client answers elixirCoder/ask", () => {
  assert.deepEqual(initializationOptions({ "clarification.maxQuestions": 2 }), { clarification: { maxQuestions: 2 }, clientUi: { ask: true } });
});

test("ask: the options become items answered with their label", () => {
  const items = askItems(ASK);
  assert.deepEqual(items.map((i) => [i.label, i.description, i.answer]), [
    ["Return 0", "mean of [] is 0", "Return 0"],
    ["Raise ArgumentError", undefined, "Raise ArgumentError"],
  ]);
});

test("ask: typed text is offered as an answer of its own when free text is allowed", () => {
  const items = askItems(ASK, "  return nil  ");
  assert.equal(items.length, 3);
  assert.deepEqual(items[2], { label: "return nil", description: FREE_TEXT_DESCRIPTION, answer: "return nil", alwaysShow: true });
  assert.equal(askItems(ASK, "Return 0").length, 2, "typing an option's label adds no duplicate");
  assert.equal(askItems({ ...ASK, allowFreeText: false }, "return nil").length, 2);
});

test("ask: the reply is the accepted item, else the typed text, else cancelled", () => {
  const items = askItems(ASK, "return nil");
  assert.deepEqual(askResult(ASK, items[1], "return nil"), { answer: "Raise ArgumentError" });
  assert.deepEqual(askResult(ASK, items[2], "return nil"), { answer: "return nil" });
  assert.deepEqual(askResult(ASK, undefined, "return nil"), { answer: "return nil" });
  assert.deepEqual(askResult(ASK, undefined, "   "), { cancelled: true });
  assert.deepEqual(askResult({ ...ASK, allowFreeText: false }, undefined, "return nil"), { cancelled: true });
});

test("ask: malformed params are recognised", () => {
  assert.equal(isAskParams(ASK), true);
  assert.equal(isAskParams({ question: "q", options: [{ description: "no label" }] }), false);
  assert.equal(isAskParams(null), false);
});

test("status: one instance shows its state; the tooltip carries the message", () => {
  const board = new StatusBoard();
  assert.equal(board.text(), "$(circle-outline) Elixir Coder");
  board.update({ instance: "default", state: "loading", message: "loading /models/qwen" });
  assert.equal(board.text(), "$(sync~spin) Elixir Coder: loading");
  assert.match(board.tooltip(), /default: loading \(loading \/models\/qwen\)/);
  board.update({ instance: "default", state: "idle" });
  assert.equal(board.text(), "$(check) Elixir Coder: idle");
  assert.equal(board.failed(), false);
});

test("status: with several instances the one that needs attention is shown", () => {
  const board = new StatusBoard();
  board.update({ instance: "default", state: "busy" });
  board.update({ instance: "candidate", state: "failed", message: "CUDA out of memory" });
  assert.equal(board.text(), "$(error) Elixir Coder: candidate failed");
  assert.equal(board.failed(), true);
  assert.match(board.tooltip(), /default: busy\ncandidate: failed \(CUDA out of memory\)/);
});

test("jobs: progress tokens map to jobs, and a job ends with its end report", async () => {
  const jobs = new JobTracker();
  const seen: string[] = [];
  assert.equal(jobs.progress("other/1", { kind: "begin" }), undefined);
  assert.equal(jobToken("job-7"), "elixir-coder/job-7");
  jobs.onProgress("job-7", (v) => seen.push(v.message ?? v.kind));
  jobs.progress("elixir-coder/job-7", { kind: "begin", message: "queued" });
  jobs.progress("elixir-coder/job-7", { kind: "report", message: "generating 12 tokens" });
  assert.deepEqual(jobs.active(), ["job-7"]);
  const done = jobs.finished("job-7");
  jobs.progress("elixir-coder/job-7", { kind: "end", message: "done" });
  await done;
  assert.deepEqual(seen, ["queued", "generating 12 tokens", "done"]);
  assert.deepEqual(jobs.active(), []);
});

test("jobs: a job that ended before anyone waited is finished at once and never restarts", async () => {
  const jobs = new JobTracker();
  jobs.progress("elixir-coder/job-2", { kind: "end" });
  jobs.started("job-2");
  await jobs.finished("job-2");
  assert.deepEqual(jobs.active(), []);
});

test("generate: the command argument carries the uri and the selection; jobIdOf reads the answer", () => {
  const range = { start: { line: 3, character: 2 }, end: { line: 3, character: 2 } };
  assert.deepEqual(generateArgument("file:///a.ex", range), { uri: "file:///a.ex", range });
  assert.deepEqual(generateArgument("file:///a.ex", range, "a mean"), { uri: "file:///a.ex", range, prompt: "a mean" });
  assert.equal(jobIdOf({ jobId: "job-3" }), "job-3");
  assert.equal(jobIdOf({ markdown: "x" }), undefined);
  assert.equal(jobIdOf(null), undefined);
});
