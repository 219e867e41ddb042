#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (CPU, the npm package onnxruntime-node that scripts/get-ort installs in
// .deps/onnxruntime/) on inputs read from a file, and writes every graph output to a file: the bridge between
// quantgrad's C++ (onnx_io/onnx_runtime_process.h starts this script) and a runtime quantgrad does not control.
//
//   node scripts/ort-run.js --model M.onnx --input X.f32 --shape N,C,H,W --out-dir DIR
//                           [--batch B] [--threads T]
//       X.f32: N samples of float32, little-endian, row-major. Runs them in batches of B (default 64; the last
//       batch may be smaller) and writes DIR/<k>.bin (output k of every batch, concatenated, raw little-endian
//       values of its element type) and DIR/outputs.json: {"outputs": [{"name", "type", "shape", "file"}],
//       "seconds", "onnxruntime"}.
//   node scripts/ort-run.js --bench --model M.onnx --shape C,H,W --batch B [--threads T] [--seconds S]
//       Times runs of one batch of B zero-valued samples for about S seconds (default 2) after a warm-up and
//       prints JSON: {"batch", "threads", "runs", "median_ms", "images_per_second", "onnxruntime"}.
//
// Exit status 0 on success; 1 with a one-line message on stderr naming the file or flag otherwise.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function fail(message) {
  process.stderr.write('ort-run: ' + message + '\n');
  process.exit(1);
}

function loadOrt() {
  const where = process.env.QG_ORT_DIR || path.join(ROOT, '.deps', 'onnxruntime');
  try {
    return require(require.resolve('onnxruntime-node', {paths: [where]}));
  } catch (e) {
    fail('cannot load onnxruntime-node from ' + where + ' (run scripts/get-ort): ' + e.message.split('\n')[0]);
  }
}

function parseArgs(argv) {
  const flags = {batch: 64, threads: 1, seconds: 2, bench: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(a + ' needs a value');
      return argv[++i];
    };
    const positive = (name, text) => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) fail(name + ' must be a positive integer, got "' + text + '"');
      return n;
    };
    if (a === '--model') flags.model = value();
    else if (a === '--input') flags.input = value();
    else if (a === '--out-dir') flags.outDir = value();
    else if (a === '--shape') {
      const text = value();
      flags.shape = text.split(',').map((d) => positive('--shape', d));
    } else if (a === '--batch') flags.batch = positive('--batch', value());
    else if (a === '--threads') flags.threads = positive('--threads', value());
    else if (a === '--seconds') flags.seconds = Number(value());
    else if (a === '--bench') flags.bench = true;
    else fail('unknown flag "' + a + '"');
  }
  if (!flags.model) fail('--model is required');
  if (!flags.shape) fail('--shape is required');
  return flags;
}

function product(dims) {
  return dims.reduce((a, b) => a * b, 1);
}

const TYPED = {
  float32: Float32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int32: Int32Array,
  int64: BigInt64Array,
};

async function createSession(ort, flags) {
  try {
    return await ort.InferenceSession.create(flags.model, {
      intraOpNumThreads: flags.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    fail(flags.model + ': ONNX Runtime refused the model: ' + e.message.split('\n')[0]);
  }
}

async function runFile(ort, flags) {
  if (!flags.input) fail('--input is required');
  if (!flags.outDir) fail('--out-dir is required');
  if (flags.shape.length < 2) fail('--shape must be N,<sample dims>, e.g. 100,1,28,28');
  const [n, ...sample] = flags.shape;
  const sampleSize = product(sample);
  let bytes;
  try {
    bytes = fs.readFileSync(flags.input);
  } catch (e) {
    fail(flags.input + ': cannot read: ' + e.message);
  }
  if (bytes.length !== n * sampleSize * 4) {
    fail(flags.input + ': ' + bytes.length + ' bytes, expected ' + n * sampleSize * 4 + ' (' + flags.shape.join('x') +
         ' float32)');
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const session = await createSession(ort, flags);
  const inputName = session.inputNames[0];
  const chunks = session.outputNames.map(() => []);
  const shapes = session.outputNames.map(() => null);
  const types = session.outputNames.map(() => null);
  const start = process.hrtime.bigint();
  for (let first = 0; first < n; first += flags.batch) {
    const count = Math.min(flags.batch, n - first);
    const data = values.subarray(first * sampleSize, (first + count) * sampleSize);
    const feeds = {[inputName]: new ort.Tensor('float32', data, [count, ...sample])};
    let results;
    try {
      results = await session.run(feeds);
    } catch (e) {
      fail(flags.model + ': run failed on samples ' + first + '..' + (first + count - 1) + ': ' +
           e.message.split('\n')[0]);
    }
    session.outputNames.forEach((name, k) => {
      const t = results[name];
      if (!TYPED[t.type]) fail(flags.model + ': output "' + name + '" has type ' + t.type + ', not supported here');
      types[k] = t.type;
      shapes[k] = shapes[k] ? [shapes[k][0] + t.dims[0], ...t.dims.slice(1)] : [...t.dims];
      chunks[k].push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.mkdirSync(flags.outDir, {recursive: true});
  const outputs = session.outputNames.map((name, k) => {
    const file = k + '.bin';
    fs.writeFileSync(path.join(flags.outDir, file), Buffer.concat(chunks[k]));
    return {name, type: types[k], shape: shapes[k], file};
  });
  const manifest = {outputs, seconds, onnxruntime: ort.env.versions.common};
  fs.writeFileSync(path.join(flags.outDir, 'outputs.json'), JSON.stringify(manifest, null, 1) + '\n');
}

async function bench(ort, flags) {
  const session = await createSession(ort, flags);
  const shape = [flags.batch, ...flags.shape];
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(product(shape)), shape)};
  for (let i = 0; i < 3; i++) await session.run(feeds);  // warm-up: first runs allocate and pack weights
  const times = [];
  const end = Date.now() + flags.seconds * 1000;
  while (times.length < 5 || Date.now() < end) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const report = {
    batch: flags.batch,
    threads: flags.threads,
    runs: times.length,
    median_ms: median,
    images_per_second: flags.batch / (median / 1000),
    onnxruntime: ort.env.versions.common,
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

async function main() {
  const flags = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(flags.model)) fail(flags.model + ': no such file');
  const ort = loadOrt();
  if (flags.bench) await bench(ort, flags);
  else await runFile(ort, flags);
}

main().catch((e) => fail(e.message.split('\n')[0]));
