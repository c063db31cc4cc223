// The guest's file descriptors. For now, 1 and 2 lead to output sinks.
export type Sink = (data: Uint8Array) => void;

export interface FileTableOptions {
  stdout?: Sink;
  stderr?: Sink;
}

export class FileTable {
  private readonly sinks: Map<number, Sink>;

  constructor(options: FileTableOptions) {
    this.sinks = new Map([[1, options.stdout ?? (() => {})], [2, options.stderr ?? (() => {})]]);
  }

  /** The output sink behind a descriptor, if it has one. */
  sink(fd: number): Sink | undefined {
    return this.sinks.get(fd);
  }
}
