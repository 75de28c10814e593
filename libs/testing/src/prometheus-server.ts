import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.js';
import { findCommand } from './system-command.js';
import { testTempDir } from './test-run.js';

/** Debian's prometheus package ships both binaries (`.ci/run` installs it). */
export function prometheusBinary(name: 'prometheus' | 'promtool'): string {
  const { path, reason } = findCommand(name, 'prometheus');
  if (!path) throw new Error(reason);
  return path;
}

export interface ScrapeJob {
  job: string;
  /** host:port of each instance. */
  targets: string[];
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A private Prometheus on a free port with its own storage, scraping the given targets every second. */
export class PrivatePrometheus {
  private constructor(
    private readonly process: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(jobs: ScrapeJob[], ruleFiles: string[] = []): Promise<PrivatePrometheus> {
    const binary = prometheusBinary('prometheus');
    const dir = testTempDir('prometheus');
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: jobs.map(({ job, targets }) => ({ job_name: job, static_configs: [{ targets }] })),
    };
    // JSON is YAML, so no YAML writer is needed.
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, '127.0.0.1', 20_000);
    return new PrivatePrometheus(child, dir, port);
  }

  async query(promql: string): Promise<PromSample[]> {
    const url = `http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(promql)}`;
    const body = (await (await fetch(url)).json()) as {
      status: string;
      data?: { result: PromSample[] };
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`PromQL ${promql} failed: ${body.error}`);
    return body.data!.result;
  }

  /** The scrape targets as Prometheus sees them (health "up" or "down"). */
  async targets(): Promise<{ labels: Record<string, string>; health: string }[]> {
    const body = (await (await fetch(`http://127.0.0.1:${this.port}/api/v1/targets`)).json()) as {
      data: { activeTargets: { labels: Record<string, string>; health: string }[] };
    };
    return body.data.activeTargets;
  }

  async rules(): Promise<{ name: string; rules: { name: string; health: string }[] }[]> {
    const body = (await (await fetch(`http://127.0.0.1:${this.port}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string; health: string }[] }[] };
    };
    return body.data.groups;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      await new Promise<void>((resolve) => {
        this.process.once('exit', () => resolve());
        this.process.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
