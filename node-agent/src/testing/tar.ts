/** Builds tar layers for tests (tar-stream pack), including hostile entries. */
import tar from "tar-stream";

/** One tar entry: a file, a directory, a symlink, a hard link or a special file. */
export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  content?: Uint8Array;
  linkname?: string;
}

/** Pack entries into an uncompressed tar. */
export async function makeTar(entries: TarEntry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const header = { name: entry.name, type, linkname: entry.linkname, mode: 0o644 };
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(header, Buffer.from(entry.content ?? new Uint8Array()), callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
