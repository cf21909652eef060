/** The repository's golden packet vectors (encoded by protobufjs from proto/*.proto), for every suite that needs them. */
import * as fs from 'fs';
import * as path from 'path';

export interface Vector {
  name: string;
  hex: string;
  about?: string;
}

export const OWN_VECTORS_FILE = path.join(__dirname, 'vectors', 'packets.json');

export function readVectors(file: string = OWN_VECTORS_FILE): Vector[] {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Vector[];
}
