import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp directory with placeholder files for flags that must name existing files. */
export class TempFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'konnectivity-config-test-'));

  file(name: string, content = 'placeholder\n'): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  missing(name: string): string {
    return join(this.dir, name);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
