#!/usr/bin/env node
// A stand-in for nvidia-cuda-mps-control on machines without GPUs. It behaves like the real
// program where the device plugin depends on it:
//   fake-mps-control.mjs -f     runs the control daemon in the foreground, using
//                               CUDA_MPS_PIPE_DIRECTORY and CUDA_MPS_LOG_DIRECTORY, writes
//                               nvidia-cuda-mps-control.pid and control.log;
//   fake-mps-control.mjs        is the client: reads commands on stdin, prints the answers,
//                               exits 1 when no daemon runs on that pipe directory.
// Commands: get_default_active_thread_percentage, set_default_active_thread_percentage <p>,
// get_server_list, quit. Test knobs: FAKE_MPS_FAIL_START=1 (exit at once with an error),
// FAKE_MPS_EXIT_AFTER_MS=<n> (crash after n ms), FAKE_MPS_HANG=1 (accept commands, never answer).
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

const pipeDir = process.env.CUDA_MPS_PIPE_DIRECTORY ?? '/tmp/nvidia-mps';
const logDir = process.env.CUDA_MPS_LOG_DIRECTORY ?? '/var/log/nvidia-mps';
const socketPath = join(pipeDir, 'control.sock');
const pidFile = join(pipeDir, 'nvidia-cuda-mps-control.pid');

function log(line) {
  mkdirSync(logDir, { recursive: true });
  appendFileSync(join(logDir, 'control.log'), `[${new Date().toISOString()}] ${line}\n`);
}

function ask(command) {
  return new Promise((resolve, reject) => {
    const c = createConnection(socketPath);
    let out = '';
    c.on('connect', () => c.end(`${command}\n`));
    c.on('data', d => (out += d));
    c.on('end', () => resolve(out));
    c.on('close', () => resolve(out));
    c.on('error', reject);
  });
}

async function client() {
  const input = readFileSync(0, 'utf8');
  for (const command of input
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)) {
    try {
      process.stdout.write(await ask(command));
    } catch {
      process.stderr.write('Cannot find MPS control daemon process\n');
      process.exit(1);
    }
  }
}

async function daemon() {
  if (process.env.FAKE_MPS_FAIL_START === '1') {
    log('Failed to start: simulated start failure');
    process.stderr.write('nvidia-cuda-mps-control: failed to start (simulated)\n');
    process.exit(1);
  }
  mkdirSync(pipeDir, { recursive: true });
  if (existsSync(socketPath)) {
    const alive = await ask('get_server_list').then(
      () => true,
      () => false,
    );
    if (alive) {
      process.stderr.write('An instance of this daemon is already running\n');
      process.exit(1);
    }
    rmSync(socketPath, { force: true });
  }
  let threads = '100.0';
  const server = createServer(conn => {
    let buf = '';
    conn.on('data', d => {
      buf += d;
      if (!buf.includes('\n') || process.env.FAKE_MPS_HANG === '1') return;
      const [cmd = '', arg] = buf.trim().split(/\s+/);
      log(`Command ${buf.trim()}`);
      if (cmd === 'get_default_active_thread_percentage') conn.end(`${threads}\n`);
      else if (cmd === 'set_default_active_thread_percentage' && arg !== undefined) {
        threads = Number(arg).toFixed(1);
        conn.end(`${threads}\n`);
      } else if (cmd === 'get_server_list') conn.end('');
      else if (cmd === 'quit') {
        // Answer first, then go: the client returns as soon as the connection closes.
        conn.end('', () => shutdown(0));
      } else conn.end(`Unrecognized command ${cmd}\n`);
    });
  });
  function shutdown(code) {
    log('Shutting down');
    server.close();
    rmSync(socketPath, { force: true });
    rmSync(pidFile, { force: true });
    process.exit(code);
  }
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  server.listen(socketPath, () => {
    writeFileSync(pidFile, `${process.pid}\n`);
    log(
      `Startup pid=${process.pid} CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? ''}`,
    );
  });
  const crashAfter = Number(process.env.FAKE_MPS_EXIT_AFTER_MS ?? 0);
  if (crashAfter > 0) {
    setTimeout(() => {
      log('Simulated crash');
      rmSync(socketPath, { force: true });
      process.exit(3);
    }, crashAfter);
  }
}

const args = process.argv.slice(2);
if (args.length === 0) await client();
else if (args[0] === '-f') await daemon();
else {
  process.stderr.write(`usage: nvidia-cuda-mps-control [-f]\n`);
  process.exit(2);
}
