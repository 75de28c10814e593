import { spawn, type ChildProcess } from 'node:child_process';
import { waitForPort } from './free-port.js';

/**
 * A server binary run as a child process on a fixed port, which a test may
 * kill (as in a crash) and start again on the same port.
 */
export class ServerProcess {
  private child?: ChildProcess;

  /** `env`: variables added to this process's environment for the server. */
  constructor(
    private readonly binary: string,
    private readonly args: readonly string[],
    readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The running server's process id (for its CPU time and memory), or undefined when it is not running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server unless it runs, and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.binary, this.args, { stdio: 'ignore', env: { ...process.env, ...this.env } });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitForPort(this.port);
  }

  /** Kills the server without a chance to clean up, as a crash would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
