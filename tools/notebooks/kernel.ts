/**
 * A client for one tslab kernel process: start it, execute code, interrupt, shut down. Every kernel
 * started here is tracked and killed when this process exits, so no kernel outlives its runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as zmq from 'zeromq';
import {
  createMessage,
  decode,
  encode,
  type ConnectionInfo,
  type JupyterMessage,
} from './protocol';
import { OutputCollector, type Output } from './nbformat';

/** How an execute request ended. `abort` is tslab cancelling a request after an earlier error. */
export type ExecuteStatus = 'ok' | 'error' | 'abort' | 'timeout' | 'died';

export interface ExecuteResult {
  status: ExecuteStatus;
  executionCount: number | null;
  outputs: Output[];
  ms: number;
}

export interface KernelOptions {
  /** Working directory of the kernel: the notebook's folder, as Jupyter does. */
  cwd: string;
  /** Extra environment variables (e.g. the fast-mode switch). */
  env?: Record<string, string>;
  /** How long the kernel may take to answer its first request. Defaults to 30 s. */
  startTimeoutMs?: number;
}

const LAUNCHER = resolve(__dirname, 'kernel-launcher.cjs');
const live = new Set<Kernel>();

/** Kills every kernel this process started (synchronous, so it works in an `exit` handler). */
export function killAllKernels(): void {
  for (const kernel of live) kernel.kill();
}

process.once('exit', killAllKernels);

/** Number of kernels started by this process that have not exited yet. */
export function liveKernelCount(): number {
  return live.size;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((ok, fail) => {
          const server = createServer();
          server.once('error', fail);
          server.listen(0, '127.0.0.1', () => ok(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}

type Pending = { resolve: (msg: JupyterMessage) => void };

export class Kernel {
  readonly pid: number;
  private readonly session = randomUUID();
  private readonly shell = new zmq.Dealer();
  private readonly control = new zmq.Dealer();
  private readonly iopub = new zmq.Subscriber();
  private readonly replies = new Map<string, Pending>();
  private readonly iopubHandlers = new Map<string, (msg: JupyterMessage) => void>();
  private readonly collector = new OutputCollector();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitWaiters: (() => void)[] = [];
  private logTail = '';
  private closed = false;

  private constructor(
    child: ChildProcess,
    private readonly conn: ConnectionInfo,
    private readonly dir: string,
  ) {
    this.pid = child.pid!;
    live.add(this);
    const keep = (chunk: Buffer) => {
      this.logTail = (this.logTail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      live.delete(this);
      this.closeSockets();
      rmSync(this.dir, { recursive: true, force: true });
      for (const wake of this.exitWaiters.splice(0)) wake();
    });
  }

  /** Starts a tslab kernel in `options.cwd` and waits until it answers on shell and iopub. */
  static async start(options: KernelOptions): Promise<Kernel> {
    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    const conn: ConnectionInfo = {
      transport: 'tcp',
      ip: '127.0.0.1',
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
      key: randomBytes(16).toString('hex'),
      signature_scheme: 'hmac-sha256',
      kernel_name: 'tslab',
    };
    const dir = mkdtempSync(join(tmpdir(), 'attention-kernel-'));
    const connFile = join(dir, 'connection.json');
    writeFileSync(connFile, JSON.stringify(conn), { mode: 0o600 });
    // detached: the kernel leads its own process group, so killing the group also ends anything a
    // notebook spawned, and a Ctrl-C in the terminal reaches the runner, which then cleans up.
    const child = spawn(process.execPath, [LAUNCHER, connFile, String(process.pid)], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const kernel = new Kernel(child, conn, dir);
    kernel.connect();
    try {
      await kernel.waitReady(options.startTimeoutMs ?? 30_000);
    } catch (err) {
      kernel.kill();
      throw err;
    }
    return kernel;
  }

  private connect(): void {
    const addr = (port: number) => `tcp://${this.conn.ip}:${port}`;
    this.shell.connect(addr(this.conn.shell_port));
    this.control.connect(addr(this.conn.control_port));
    this.iopub.connect(addr(this.conn.iopub_port));
    this.iopub.subscribe();
    void this.readReplies(this.shell);
    void this.readReplies(this.control);
    void this.readIopub();
  }

  private async readReplies(socket: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const msg = this.tryDecode(frames);
        const pending = msg && this.replies.get(msg.parent_header.msg_id ?? '');
        if (pending) pending.resolve(msg!);
      }
    } catch {
      // Socket closed: the kernel is gone; waiters are woken by the exit handler.
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const msg = this.tryDecode(frames);
        if (msg) this.iopubHandlers.get(msg.parent_header.msg_id ?? '')?.(msg);
      }
    } catch {
      // Closed.
    }
  }

  private tryDecode(frames: Buffer[]): JupyterMessage | null {
    try {
      return decode(this.conn.key, frames);
    } catch (err) {
      this.logTail += `\n[runner] dropped a message: ${(err as Error).message}`;
      return null;
    }
  }

  private async request(
    socket: zmq.Dealer,
    msgType: string,
    content: object,
    onIopub?: (msg: JupyterMessage) => void,
  ): Promise<{ msgId: string; reply: Promise<JupyterMessage> }> {
    const msg = createMessage(this.session, msgType, content);
    const msgId = msg.header.msg_id;
    if (onIopub) this.iopubHandlers.set(msgId, onIopub);
    const reply = new Promise<JupyterMessage>((resolveReply) => {
      this.replies.set(msgId, {
        resolve: (m) => {
          this.replies.delete(msgId);
          resolveReply(m);
        },
      });
    });
    await socket.send(encode(this.conn.key, msg));
    return { msgId, reply };
  }

  /**
   * Jupyter's readiness handshake: the kernel is ready when a kernel_info request is answered on
   * shell and its status message arrives on iopub. The second half matters: a subscriber that
   * connected late misses messages, and a runner that misses the outputs of the first cell would
   * save a notebook with missing outputs.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitInfo) break;
      let sawIopub = false;
      let wakeIopub = () => {};
      const iopubSeen = new Promise<void>((ok) => (wakeIopub = ok));
      const { msgId, reply } = await this.request(this.shell, 'kernel_info_request', {}, () => {
        sawIopub = true;
        wakeIopub();
      });
      const got = await Promise.race([reply.then(() => true), delay(1000).then(() => false)]);
      if (got) await Promise.race([iopubSeen, delay(500)]);
      this.iopubHandlers.delete(msgId);
      this.replies.delete(msgId);
      if (got && sawIopub) return;
    }
    const why = this.exitInfo
      ? `the kernel exited (${describeExit(this.exitInfo)})`
      : `no answer within ${Math.round(timeoutMs / 1000)} s`;
    throw new Error(
      `tslab kernel did not start: ${why}.${this.logTail ? `\nkernel log:\n${this.logTail}` : ''}`,
    );
  }

  /** Whether the kernel process has exited, and how. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitInfo;
  }

  /** The last few KB the kernel printed outside of cells (startup errors, crashes). */
  get log(): string {
    return this.logTail;
  }

  /**
   * Executes `code` and collects its outputs. Resolves (never rejects) once the reply and the idle
   * status have both arrived, or with status `timeout` / `died`. On timeout the kernel is
   * interrupted; if it does not answer within `graceMs` it is killed.
   */
  async execute(
    code: string,
    outputs: Output[],
    options: { timeoutMs: number; graceMs?: number; onOutput?: () => void },
  ): Promise<ExecuteResult> {
    const started = Date.now();
    if (this.exitInfo) return { status: 'died', executionCount: null, outputs, ms: 0 };
    let wakeIdle = () => {};
    const idle = new Promise<void>((ok) => (wakeIdle = ok));
    const onIopub = (msg: JupyterMessage) => {
      const type = msg.header.msg_type;
      if (type === 'status') {
        if ((msg.content as { execution_state?: string }).execution_state === 'idle') wakeIdle();
        return;
      }
      this.collector.apply(outputs, type, msg.content);
      options.onOutput?.();
    };
    const { reply } = await this.request(
      this.shell,
      'execute_request',
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      },
      onIopub,
    );
    const died = new Promise<'died'>((ok) => this.exitWaiters.push(() => ok('died')));
    const done = Promise.all([reply, idle]).then(([msg]) => msg);
    const timer = deadline(options.timeoutMs);
    let outcome = await Promise.race([done, died, timer.fired]);
    timer.cancel();
    if (outcome === 'timeout') {
      this.interrupt();
      const grace = deadline(options.graceMs ?? 3000);
      const late = await Promise.race([done, died, grace.fired]);
      grace.cancel();
      // Even if the interrupt made the cell answer, it ran out of time: report the timeout.
      if (late === 'timeout') this.kill();
      outcome = 'timeout';
    }
    const ms = Date.now() - started;
    if (outcome === 'timeout' || outcome === 'died') {
      return { status: outcome, executionCount: null, outputs, ms };
    }
    const content = outcome.content as { status?: string; execution_count?: number };
    const status: ExecuteStatus =
      content.status === 'ok'
        ? 'ok'
        : content.status === 'abort' || content.status === 'aborted'
          ? 'abort'
          : 'error';
    return { status, executionCount: content.execution_count ?? null, outputs, ms };
  }

  /** Sends SIGINT, which tslab turns into an interrupt of the running cell. */
  interrupt(): void {
    if (this.exitInfo) return;
    try {
      process.kill(this.pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }

  /** Kills the kernel's whole process group at once. Synchronous and safe to call twice. */
  kill(): void {
    if (this.exitInfo) return;
    for (const target of [-this.pid, this.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Group or process already gone.
      }
    }
  }

  /** Resolves when the kernel process has exited. */
  waitExit(): Promise<void> {
    if (this.exitInfo) return Promise.resolve();
    return new Promise((ok) => this.exitWaiters.push(ok));
  }

  /**
   * Asks the kernel to shut down, then kills it if it has not exited within `graceMs`. Resolves once
   * the process is gone, whatever happened.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    if (!this.exitInfo) {
      try {
        await this.request(this.control, 'shutdown_request', { restart: false });
      } catch {
        // Sockets already closed.
      }
      const exited = await Promise.race([
        this.waitExit().then(() => true),
        delay(graceMs).then(() => false),
      ]);
      // tslab closes its sockets on shutdown but the process can linger on pending timers.
      if (!exited) this.kill();
    }
    // The launcher leads a process group; anything a notebook spawned dies with it.
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // No such group: nothing left.
    }
    await this.waitExit();
  }

  private closeSockets(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [this.shell, this.control, this.iopub]) {
      socket.close();
    }
  }
}

/** A promise that resolves after `ms`; its timer is unref'd so it never keeps the runner alive. */
function delay(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms).unref());
}

/** A timer that must keep the process alive (cell deadlines) and can be cancelled. */
function deadline(ms: number): { fired: Promise<'timeout'>; cancel: () => void } {
  let handle: NodeJS.Timeout | undefined;
  const fired = new Promise<'timeout'>((ok) => {
    handle = setTimeout(() => ok('timeout'), ms);
  });
  return { fired, cancel: () => clearTimeout(handle) };
}

/** "exit code 1" or "signal SIGKILL". */
export function describeExit(info: { code: number | null; signal: NodeJS.Signals | null }): string {
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}
