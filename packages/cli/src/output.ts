import pc from 'picocolors';
import yoctoSpinner from 'yocto-spinner';

type Colors = ReturnType<typeof pc.createColors>;

/** Where a command writes. Colour and spinners only when the stream is a terminal (and NO_COLOR is unset). */
export class Output {
  readonly json: boolean;
  readonly color: Colors;
  readonly #stdout: NodeJS.WriteStream;
  readonly #stderr: NodeJS.WriteStream;
  readonly #interactive: boolean;

  constructor(options: {
    json: boolean;
    stdout?: NodeJS.WriteStream;
    stderr?: NodeJS.WriteStream;
    env?: NodeJS.ProcessEnv;
  }) {
    this.json = options.json;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
    const env = options.env ?? process.env;
    const tty = this.#stdout.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
    this.color = pc.createColors(tty);
    this.#interactive = this.#stderr.isTTY === true && env.CI === undefined;
  }

  line(text = ''): void {
    this.#stdout.write(`${text}\n`);
  }

  data(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A progress remark on stderr, so it never mixes with the data on stdout. */
  note(text: string): void {
    this.#stderr.write(`${this.color.dim(text)}\n`);
  }

  warn(text: string): void {
    this.#stderr.write(`${this.color.yellow(text)}\n`);
  }

  error(text: string): void {
    this.#stderr.write(`${this.color.red(text)}\n`);
  }

  /** Runs `work` with a spinner on a terminal; silent otherwise. */
  async spin<T>(text: string, work: () => Promise<T>): Promise<T> {
    if (!this.#interactive || this.json) return work();
    const spinner = yoctoSpinner({ text, stream: this.#stderr }).start();
    try {
      return await work();
    } finally {
      spinner.stop();
    }
  }

  /** A plain aligned table; the header is dimmed on a terminal. */
  table(headers: string[], rows: Array<Array<string | number | null | undefined>>): void {
    const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
    const fmt = (r: string[]): string =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    this.line(this.color.dim(fmt(headers)));
    for (const r of cells) this.line(fmt(r));
    if (rows.length === 0) this.line(this.color.dim('(none)'));
  }
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}
